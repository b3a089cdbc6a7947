#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One header of an event-stream message: a name (1–255 bytes of UTF-8 on the wire)
/// and a typed value.
public struct EventStreamHeader: Sendable, Hashable {
    /// The header name, e.g. `:event-type`.
    public var name: String
    /// The typed value.
    public var value: EventStreamHeaderValue

    /// A header with the given name and value.
    public init(name: String, value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }

    /// A string header (type 7), the kind every Bedrock `:`-header uses.
    public static func string(_ name: String, _ value: String) -> EventStreamHeader {
        EventStreamHeader(name: name, value: .string(value))
    }
}

/// The ten value types an event-stream header can carry, with the wire type id of each.
///
/// A boolean's value is its type id (0 true, 1 false) and takes no value bytes.
/// Timestamps are kept as the exact int64 milliseconds on the wire so that re-encoding
/// gives the same bytes; `date` converts.
public enum EventStreamHeaderValue: Sendable, Hashable {
    /// Types 0 (true) and 1 (false).
    case bool(Bool)
    /// Type 2: a signed 8-bit integer.
    case byte(Int8)
    /// Type 3: a signed 16-bit big-endian integer.
    case short(Int16)
    /// Type 4: a signed 32-bit big-endian integer.
    case int(Int32)
    /// Type 5: a signed 64-bit big-endian integer.
    case long(Int64)
    /// Type 6: raw bytes with a 16-bit length.
    case bytes([UInt8])
    /// Type 7: UTF-8 text with a 16-bit length.
    case string(String)
    /// Type 8: milliseconds since the Unix epoch, as a signed 64-bit integer.
    case timestamp(milliseconds: Int64)
    /// Type 9: 16 raw bytes.
    case uuid(UUID)

    /// The wire type id (0–9).
    public var typeID: UInt8 {
        switch self {
        case .bool(let value): value ? 0 : 1
        case .byte: 2
        case .short: 3
        case .int: 4
        case .long: 5
        case .bytes: 6
        case .string: 7
        case .timestamp: 8
        case .uuid: 9
        }
    }

    /// The type's name as the spec and the conformance vectors spell it.
    public var typeName: String {
        switch self {
        case .bool: "bool"
        case .byte: "byte"
        case .short: "short"
        case .int: "int"
        case .long: "long"
        case .bytes: "bytes"
        case .string: "string"
        case .timestamp: "timestamp"
        case .uuid: "uuid"
        }
    }

    /// The text of a string header, or nil for any other type.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// A timestamp header as a `Date`, or nil for any other type.
    public var date: Date? {
        if case .timestamp(let milliseconds) = self {
            return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        }
        return nil
    }

    /// A timestamp value from a `Date`, rounded down to whole milliseconds.
    public static func timestamp(_ date: Date) -> EventStreamHeaderValue {
        .timestamp(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

extension EventStreamHeaderValue: CustomStringConvertible {
    /// A readable form for logs and test failures, e.g. `string("chunk")`.
    public var description: String {
        switch self {
        case .bool(let v): "bool(\(v))"
        case .byte(let v): "byte(\(v))"
        case .short(let v): "short(\(v))"
        case .int(let v): "int(\(v))"
        case .long(let v): "long(\(v))"
        case .bytes(let v): "bytes(\(v.count) bytes)"
        case .string(let v): "string(\(String(reflecting: v)))"
        case .timestamp(let ms): "timestamp(\(ms) ms)"
        case .uuid(let v): "uuid(\(v.uuidString.lowercased()))"
        }
    }
}
