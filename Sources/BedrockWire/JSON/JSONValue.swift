/// A JSON document that keeps object members in their original order: the one JSON
/// value the client and the emulator share.
///
/// Bedrock takes free-form JSON in several places (`additionalModelRequestFields`, tool
/// input schemas, tool inputs). botocore serialises such values in insertion order, and
/// the request signature covers the body bytes, so the order must survive a round trip.
/// Where a document repeats a member name, lookups (``subscript(_:)``, ``objectValue``,
/// ``JSONValueDecoder``) take the last one, as Python's `json` (botocore) does.
/// `==` compares values as JSON does: objects by their members' names and values, in
/// any order; `1` equals `1.0`.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent.
    case integer(Int64)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order; duplicate names are kept as given.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.double(a), .double(b)): a == b
        case let (.integer(a), .double(b)), let (.double(b), .integer(a)): Double(a) == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            // JSON objects are unordered: equal when they have the same members by name
            // (the last of a repeated name, as lookups read them). The order survives in
            // `objectMembers` and in what the writers write.
            Dictionary(a, uniquingKeysWith: { _, last in last }) == Dictionary(b, uniquingKeysWith: { _, last in last })
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case let .bool(b): hasher.combine(b)
        case let .integer(i): hasher.combine(Double(i))
        case let .double(d): hasher.combine(d)
        case let .string(s): hasher.combine(s)
        case let .array(a): hasher.combine(a)
        case let .object(members):
            // Order-independent, to agree with `==`.
            let unique = Dictionary(members, uniquingKeysWith: { _, last in last })
            hasher.combine(unique.count)
            hasher.combine(
                unique.reduce(0) { sum, member in
                    var h = Hasher()
                    h.combine(member.key)
                    h.combine(member.value)
                    return sum &+ h.finalize()
                })
        }
    }

    /// An object from a dictionary, members sorted by name so the result does not depend
    /// on the dictionary's order.
    public init(_ members: [String: JSONValue]) {
        self = .object(members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// A number from an `Int`.
    public static func int(_ value: Int) -> JSONValue { .integer(Int64(value)) }

    /// The value of member `key` when this is an object (the last one of that name).
    ///
    /// Setting replaces that member in place, or appends it; setting `nil` removes every
    /// member of that name. Setting a member of a value that is not an object makes it an
    /// object holding just that member.
    public subscript(key: String) -> JSONValue? {
        get {
            guard case let .object(members) = self else { return nil }
            return members.last(where: { $0.0 == key })?.1
        }
        set {
            var members = objectMembers ?? []
            if let newValue {
                if let i = members.lastIndex(where: { $0.0 == key }) {
                    members[i].1 = newValue
                } else {
                    members.append((key, newValue))
                }
            } else {
                members.removeAll { $0.0 == key }
            }
            self = .object(members)
        }
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// The number as a `Double`, when this is a number.
    public var doubleValue: Double? {
        switch self {
        case let .integer(i): Double(i)
        case let .double(d): d
        default: nil
        }
    }

    /// The number as an `Int`, when this is an integral number: any integer written
    /// without a fraction or exponent, or a whole double below 9e15 in magnitude (above
    /// 2^53 a double no longer tells neighbouring integers apart).
    public var intValue: Int? {
        switch self {
        case let .integer(i): Int(exactly: i)
        case let .double(d): abs(d) < 9.0e15 ? Int(exactly: d) : nil
        default: nil
        }
    }

    /// The boolean, when this is a boolean.
    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    /// The members by name (the last of a repeated name), when this is an object.
    public var objectValue: [String: JSONValue]? {
        guard case let .object(m) = self else { return nil }
        return Dictionary(m, uniquingKeysWith: { _, last in last })
    }

    /// The members in document order, when this is an object.
    public var objectMembers: [(String, JSONValue)]? {
        if case let .object(m) = self { return m }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case let .array(a) = self { return a }
        return nil
    }

    /// A short name of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text.
    public var description: String { JSONWriter.compact.string(self) }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let tree = decoder as? JSONValueDecoder.Impl {
            self = tree.value
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let b = try? container.decode(Bool.self) { self = .bool(b); return }
        if let i = try? container.decode(Int64.self) { self = .integer(i); return }
        if let d = try? container.decode(Double.self) { self = .double(d); return }
        if let s = try? container.decode(String.self) { self = .string(s); return }
        if let a = try? container.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? container.decode([String: JSONValue].self) {
            self = .object(o.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            return
        }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: any Encoder) throws {
        if let tree = encoder as? JSONValueEncoder.Impl {
            tree.storeRaw(self)
            return
        }
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(b): try container.encode(b)
        case let .integer(i): try container.encode(i)
        case let .double(d): try container.encode(d)
        case let .string(s): try container.encode(s)
        case let .array(a): try container.encode(a)
        case let .object(members):
            var dict: [String: JSONValue] = [:]
            for (k, v) in members { dict[k] = v }
            try container.encode(dict)
        }
    }
}
