import Foundation

/// A coding key made from any string, for union members and free-form objects.
struct DynamicKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Support for the service's tagged unions: exactly one member is set; a member this
/// client does not know decodes as `unknown(name, value)` instead of failing.
enum UnionCoding {
    /// The single member of a union object, or an error naming what was wrong.
    static func member(of decoder: any Decoder, union: String) throws -> (
        name: String, container: KeyedDecodingContainer<DynamicKey>, key: DynamicKey
    ) {
        let container = try decoder.container(keyedBy: DynamicKey.self)
        let keys = container.allKeys
        guard let key = keys.first else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(union) has no member set"))
        }
        return (key.stringValue, container, key)
    }

    /// Encodes `value` as the single member `name`.
    static func encode<T: Encodable>(_ value: T, as name: String, to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(value, forKey: DynamicKey(name))
    }
}

/// A string enumeration from the service model that keeps values this client does not
/// know (a new stop reason must not break decoding).
public protocol OpenEnum: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
where RawValue == String {
    init(rawValue: String)
}

extension OpenEnum {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
}

/// An empty structure (`{}`), as used by `toolChoice.auto`.
public struct EmptyObject: Codable, Hashable, Sendable {
    public init() {}
}
