/// Writes `JSONValue`s as text.
///
/// `.botocore` reproduces Python's `json.dumps` defaults (`", "` and `": "` separators,
/// every non-ASCII character escaped as `\uXXXX`), which is what botocore puts on the
/// wire; the signature covers those bytes, so ours must be the same.
public struct JSONWriter: Sendable {
    /// Separator between members and elements.
    public var itemSeparator: String
    /// Separator between a member's name and its value.
    public var keySeparator: String
    /// Escape every character outside printable ASCII.
    public var asciiOnly: Bool

    /// The bytes botocore sends for a REST-JSON body.
    public static let botocore = JSONWriter(itemSeparator: ", ", keySeparator: ": ", asciiOnly: true)
    /// Compact UTF-8 JSON, for logs and descriptions.
    public static let compact = JSONWriter(itemSeparator: ",", keySeparator: ":", asciiOnly: false)

    /// The JSON text of `value`.
    public func string(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    /// The UTF-8 bytes of the JSON text of `value`.
    public func bytes(_ value: JSONValue) -> [UInt8] { Array(string(value).utf8) }

    private func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .integer(i): out += String(i)
        case let .double(d): out += Self.format(d)
        case let .string(s): writeString(s, into: &out)
        case let .array(items):
            out += "["
            for (n, item) in items.enumerated() {
                if n > 0 { out += itemSeparator }
                write(item, into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (n, (key, item)) in members.enumerated() {
                if n > 0 { out += itemSeparator }
                writeString(key, into: &out)
                out += keySeparator
                write(item, into: &out)
            }
            out += "}"
        }
    }

    /// Python's `repr(float)` for the values JSON can carry (non-finite values become
    /// `null`: they are not JSON).
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        return d.description
    }

    private func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                let v = scalar.value
                if v < 0x20 || (asciiOnly && v > 0x7E) {
                    if v > 0xFFFF {
                        let u = v - 0x10000
                        out += Self.hex4(0xD800 + (u >> 10))
                        out += Self.hex4(0xDC00 + (u & 0x3FF))
                    } else {
                        out += Self.hex4(v)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hex4(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
