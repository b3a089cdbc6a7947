import Foundation

/// Encodes `Encodable` values to a `JSONValue`, keeping members in the order the type
/// encodes them (declaration order for synthesised conformances) and skipping absent
/// optionals, as botocore does. `Data` becomes base64 and `Date` ISO-8601 text.
public struct JSONValueEncoder: Sendable {
    public init() {}

    /// The JSON tree of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let impl = Impl(ref: Ref(), codingPath: [])
        try impl.encodeAny(value)
        return impl.ref.resolve()
    }

    final class Ref {
        enum Kind { case unset, value(JSONValue), object([(String, Ref)]), array([Ref]) }
        var kind: Kind = .unset
        func resolve() -> JSONValue {
            switch kind {
            case .unset: .object([])
            case let .value(v): v
            case let .object(m): .object(m.map { ($0.0, $0.1.resolve()) })
            case let .array(a): .array(a.map { $0.resolve() })
            }
        }
        func child(forKey key: String) -> Ref {
            let r = Ref()
            if case var .object(m) = kind {
                if let i = m.firstIndex(where: { $0.0 == key }) { m[i] = (key, r) } else { m.append((key, r)) }
                kind = .object(m)
            } else {
                kind = .object([(key, r)])
            }
            return r
        }
        func appendChild() -> Ref {
            let r = Ref()
            if case var .array(a) = kind { a.append(r); kind = .array(a) } else { kind = .array([r]) }
            return r
        }
    }

    final class Impl: Encoder {
        let ref: Ref
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        init(ref: Ref, codingPath: [any CodingKey]) { self.ref = ref; self.codingPath = codingPath }

        func storeRaw(_ v: JSONValue) { ref.kind = .value(v) }

        func encodeAny<T: Encodable>(_ value: T) throws {
            if let data = value as? Data { storeRaw(.string(data.base64EncodedString())); return }
            if let date = value as? Date { storeRaw(.string(ISO8601Text.format(date))); return }
            if let url = value as? URL { storeRaw(.string(url.absoluteString)); return }
            try value.encode(to: self)
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .object = ref.kind {} else { ref.kind = .object([]) }
            return KeyedEncodingContainer(Keyed<Key>(impl: self))
        }
        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if case .array = ref.kind {} else { ref.kind = .array([]) }
            return Unkeyed(impl: self)
        }
        func singleValueContainer() -> any SingleValueEncodingContainer { Single(impl: self) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let impl: Impl
        var codingPath: [any CodingKey] { impl.codingPath }
        func sub(_ key: Key) -> Impl {
            Impl(ref: impl.ref.child(forKey: key.stringValue), codingPath: codingPath + [key])
        }
        mutating func encodeNil(forKey key: Key) throws { sub(key).storeRaw(.null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { sub(key).storeRaw(.bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { sub(key).storeRaw(.string(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { sub(key).storeRaw(.double(value)) }
        mutating func encode(_ value: Float, forKey key: Key) throws {
            sub(key).storeRaw(.double(Double("\(value)") ?? Double(value)))
        }
        mutating func encode(_ value: Int, forKey key: Key) throws { sub(key).storeRaw(.integer(Int64(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { sub(key).storeRaw(.integer(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try sub(key).encodeAny(value) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            sub(key).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            sub(key).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            Impl(ref: impl.ref.child(forKey: "super"), codingPath: codingPath)
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder { sub(key) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let impl: Impl
        var codingPath: [any CodingKey] { impl.codingPath }
        var count: Int { if case let .array(a) = impl.ref.kind { a.count } else { 0 } }
        func next() -> Impl { Impl(ref: impl.ref.appendChild(), codingPath: codingPath) }
        mutating func encodeNil() throws { next().storeRaw(.null) }
        mutating func encode(_ value: Bool) throws { next().storeRaw(.bool(value)) }
        mutating func encode(_ value: String) throws { next().storeRaw(.string(value)) }
        mutating func encode(_ value: Double) throws { next().storeRaw(.double(value)) }
        mutating func encode(_ value: Int) throws { next().storeRaw(.integer(Int64(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws { try next().encodeAny(value) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
            NestedKey
        > {
            next().container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
        mutating func superEncoder() -> any Encoder { next() }
    }

    struct Single: SingleValueEncodingContainer {
        let impl: Impl
        var codingPath: [any CodingKey] { impl.codingPath }
        mutating func encodeNil() throws { impl.storeRaw(.null) }
        mutating func encode(_ value: Bool) throws { impl.storeRaw(.bool(value)) }
        mutating func encode(_ value: String) throws { impl.storeRaw(.string(value)) }
        mutating func encode(_ value: Double) throws { impl.storeRaw(.double(value)) }
        mutating func encode(_ value: Float) throws { impl.storeRaw(.double(Double("\(value)") ?? Double(value))) }
        mutating func encode(_ value: Int) throws { impl.storeRaw(.integer(Int64(value))) }
        mutating func encode(_ value: Int64) throws { impl.storeRaw(.integer(value)) }
        mutating func encode(_ value: Int32) throws { impl.storeRaw(.integer(Int64(value))) }
        mutating func encode(_ value: UInt64) throws {
            impl.storeRaw(Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value)))
        }
        mutating func encode<T: Encodable>(_ value: T) throws { try impl.encodeAny(value) }
    }
}

/// ISO-8601 timestamps as the service writes and reads them.
public enum ISO8601Text {
    /// `2026-12-06T01:02:03Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
    /// `2026-12-06T01:02:03.456Z`: with milliseconds, as the emulator's job and object
    /// timestamps are written.
    public static func formatWithFractionalSeconds(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
    /// Reads a timestamp with or without fractional seconds; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return try? Date(text, strategy: fractional)
    }
}
