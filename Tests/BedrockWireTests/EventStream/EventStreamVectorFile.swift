import BedrockWire
import Foundation
import TestSupport

/// `eventstream/vectors.json` as the README describes it.
struct EventStreamVectorFile: Decodable {
    var valid: [ValidCase]
    var invalid: [InvalidCase]

    struct ValidCase: Decodable {
        var id: String
        var headers: [Header]
        var payload: Payload
        var bytes_hex: String?
        var bytes_prefix_hex: String?
        var bytes_suffix_hex: String?
        var length: Int

        /// The full message bytes, from `bytes_hex` or prefix + payload + suffix.
        func messageBytes() throws -> [UInt8] {
            if let bytes_hex { return try TestBytes.hex(bytes_hex) }
            guard let prefix = bytes_prefix_hex, let suffix = bytes_suffix_hex else {
                throw ConformanceFile.Missing(description: "\(id): neither bytes_hex nor prefix/suffix")
            }
            return try TestBytes.hex(prefix) + payload.bytes() + TestBytes.hex(suffix)
        }

        /// The expected headers as our types.
        func expectedHeaders() throws -> [EventStreamHeader] {
            try headers.map { try $0.header() }
        }
    }

    struct Header: Decodable {
        var name: String
        var type: String
        var type_id: Int
        var value: Scalar?
        var value_base64: String?

        func header() throws -> EventStreamHeader {
            func bad() -> ConformanceFile.Missing {
                ConformanceFile.Missing(
                    description: "header \(name): cannot read a \(type) from \(String(describing: value))")
            }
            let result: EventStreamHeaderValue
            switch (type, value) {
            case ("bool", .bool(let b)?): result = .bool(b)
            case ("byte", .int(let n)?): guard let v = Int8(exactly: n) else { throw bad() }; result = .byte(v)
            case ("short", .int(let n)?): guard let v = Int16(exactly: n) else { throw bad() }; result = .short(v)
            case ("int", .int(let n)?): guard let v = Int32(exactly: n) else { throw bad() }; result = .int(v)
            case ("long", .int(let n)?): result = .long(n)
            case ("timestamp", .int(let n)?): result = .timestamp(milliseconds: n)
            case ("string", .string(let s)?): result = .string(s)
            case ("uuid", .string(let s)?): guard let u = UUID(uuidString: s) else { throw bad() }; result = .uuid(u)
            case ("bytes", _):
                guard let value_base64 else { throw bad() }
                result = .bytes(try TestBytes.base64(value_base64))
            default: throw bad()
            }
            guard Int(result.typeID) == type_id else {
                throw ConformanceFile.Missing(description: "header \(name): type_id \(type_id) disagrees with \(type)")
            }
            return EventStreamHeader(name: name, value: result)
        }
    }

    enum Scalar: Decodable, CustomStringConvertible {
        case bool(Bool), int(Int64), string(String)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let n = try? c.decode(Int64.self) {
                self = .int(n)
            } else {
                self = .string(try c.decode(String.self))
            }
        }
        var description: String {
            switch self {
            case .bool(let b): "\(b)";
            case .int(let n): "\(n)";
            case .string(let s): s
            }
        }
    }

    typealias Payload = VectorBytes

    struct InvalidCase: Decodable {
        var id: String
        var description: String
        var bytes_hex: String
        var spec_note: String
        var botocore: Botocore
        struct Botocore: Decodable {
            var outcome: String
            var messages_before_error: Int?
            var messages_decoded: Int?
            var error_message: String?
        }
    }

    /// Reads the file (QUARRY_EVENTSTREAM_VECTORS or the project's copy); throws when
    /// it is missing or holds no case.
    static func load() throws -> (EventStreamVectorFile, URL) {
        let url = ConformanceFile.eventStreamVectors.url
        let file = try JSONDecoder().decode(
            EventStreamVectorFile.self, from: try ConformanceFile.eventStreamVectors.contents())
        guard !file.valid.isEmpty || !file.invalid.isEmpty else {
            throw ConformanceFile.Missing(description: "event-stream vectors at \(url.path) hold no case")
        }
        return (file, url)
    }
}
