import Foundation

/// Decodes `Decodable` values from a `JSONValue` (or JSON bytes), so free-form members
/// keep their order. Errors carry the coding path, e.g. `output.message.content[0]`.
public struct JSONValueDecoder: Sendable {
    public init() {}

    /// Decodes `type` from a tree.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try Impl(value: value, codingPath: []).decodeAny(type)
    }

    /// Decodes `type` from JSON text.
    public func decode<T: Decodable, C: Collection>(_ type: T.Type, from bytes: C) throws -> T
    where C.Element == UInt8 {
        try decode(type, from: try JSONParser.parse(bytes))
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
    }

    struct Impl: Decoder {
        let value: JSONValue
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func mismatch<T>(_ type: T.Type) -> DecodingError {
            .typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(value.kindName)"))
        }

        func decodeAny<T: Decodable>(_ type: T.Type) throws -> T {
            if type == Data.self {
                guard case let .string(s) = value, let d = Data(base64Encoded: s), let r = d as? T else {
                    throw mismatch(Data.self)
                }
                return r
            }
            if type == Date.self {
                let date: Date
                switch value {
                case let .string(s):
                    guard let d = ISO8601Text.parse(s) else {
                        throw DecodingError.dataCorrupted(
                            .init(codingPath: codingPath, debugDescription: "not an ISO-8601 timestamp: \(s)"))
                    }
                    date = d
                case let .integer(i): date = Date(timeIntervalSince1970: Double(i))
                case let .double(x): date = Date(timeIntervalSince1970: x)
                default: throw mismatch(Date.self)
                }
                guard let r = date as? T else { throw mismatch(Date.self) }
                return r
            }
            return try T(from: self)
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case let .object(members) = value else { throw mismatch([String: JSONValue].self) }
            // A repeated name: the last member wins, as in `JSONValue`'s subscript. Small
            // objects (nearly all) are searched in place: hashing every name into a
            // dictionary cost more than the search.
            let dict =
                members.count > Keyed<Key>.linearSearchLimit
                ? Dictionary(members, uniquingKeysWith: { _, last in last }) : nil
            return KeyedDecodingContainer(Keyed<Key>(members: members, dict: dict, codingPath: codingPath))
        }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard case let .array(items) = value else { throw mismatch([JSONValue].self) }
            return Unkeyed(items: items, codingPath: codingPath)
        }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(impl: self) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        /// Objects with more members than this get a dictionary; smaller ones are searched.
        static var linearSearchLimit: Int { 16 }
        let members: [(String, JSONValue)]
        let dict: [String: JSONValue]?
        let codingPath: [any CodingKey]
        var allKeys: [Key] { members.compactMap { Key(stringValue: $0.0) } }
        /// The value of the last member named `name`.
        func member(_ name: String) -> JSONValue? {
            if let dict { return dict[name] }
            return members.last(where: { $0.0 == name })?.1
        }
        func contains(_ key: Key) -> Bool { member(key.stringValue) != nil }
        func impl(_ key: Key) throws -> Impl {
            guard let v = member(key.stringValue) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: codingPath, debugDescription: "missing member '\(key.stringValue)'"))
            }
            return Impl(value: v, codingPath: codingPath + [key])
        }
        func decodeNil(forKey key: Key) throws -> Bool {
            let v = member(key.stringValue)
            return v == nil || v == .null
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try impl(key).decodeAny(type) }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let v = member(key.stringValue), v != .null else { return nil }
            return try Impl(value: v, codingPath: codingPath + [key]).decodeAny(type)
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try impl(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try impl(key).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { Impl(value: member("super") ?? .null, codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { try impl(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }
        mutating func nextImpl() throws -> Impl {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    JSONValue.self, .init(codingPath: codingPath, debugDescription: "array ended"))
            }
            defer { currentIndex += 1 }
            return Impl(value: items[currentIndex], codingPath: codingPath + [AnyKey(intValue: currentIndex)])
        }
        mutating func decodeNil() throws -> Bool {
            if !isAtEnd, items[currentIndex] == .null { currentIndex += 1; return true }
            return false
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try nextImpl().decodeAny(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try nextImpl().container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try nextImpl().unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { try nextImpl() }
    }

    struct Single: SingleValueDecodingContainer {
        let impl: Impl
        var codingPath: [any CodingKey] { impl.codingPath }
        func decodeNil() -> Bool { impl.value == .null }
        func decode(_ type: Bool.Type) throws -> Bool {
            guard case let .bool(b) = impl.value else { throw impl.mismatch(type) }
            return b
        }
        func decode(_ type: String.Type) throws -> String {
            guard case let .string(s) = impl.value else { throw impl.mismatch(type) }
            return s
        }
        func decode(_ type: Double.Type) throws -> Double {
            guard let d = impl.value.doubleValue else { throw impl.mismatch(type) }
            return d
        }
        func decode(_ type: Float.Type) throws -> Float {
            guard let d = impl.value.doubleValue else { throw impl.mismatch(type) }
            return Float(d)
        }
        func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
            switch impl.value {
            case let .integer(i): if let v = I(exactly: i) { return v }
            case let .double(d): if let v = I(exactly: d) { return v }
            default: break
            }
            throw impl.mismatch(type)
        }
        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try impl.decodeAny(type) }
    }
}
