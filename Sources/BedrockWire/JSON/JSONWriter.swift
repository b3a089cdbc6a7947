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
    /// Write object members sorted by name (Swift's `String` order) instead of in
    /// document order; of a repeated name only the last member is written.
    public var sortsKeys = false
    /// Write a double that holds a whole number below 1e15 in magnitude as an integer
    /// (`2.0` as `2`).
    public var writesWholeDoublesAsIntegers = false

    /// The bytes botocore sends for a REST-JSON body.
    public static let botocore = JSONWriter(itemSeparator: ", ", keySeparator: ": ", asciiOnly: true)
    /// Compact UTF-8 JSON, for logs and descriptions.
    public static let compact = JSONWriter(itemSeparator: ",", keySeparator: ":", asciiOnly: false)
    /// Compact UTF-8 JSON in which equal values (in the emulator's sense: members by
    /// name, numbers by value) are written identically: what the emulator sends.
    public static let canonical = JSONWriter(
        itemSeparator: ",", keySeparator: ":", asciiOnly: false,
        sortsKeys: true, writesWholeDoublesAsIntegers: true)

    /// The JSON text of `value`.
    public func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// The UTF-8 bytes of the JSON text of `value`.
    public func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    private func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case let .integer(i): out.append(contentsOf: String(i).utf8)
        case let .double(d):
            if writesWholeDoublesAsIntegers, d.rounded() == d, abs(d) < 1e15 {
                out.append(contentsOf: String(Int64(d)).utf8)
            } else {
                out.append(contentsOf: Self.format(d).utf8)
            }
        case let .string(s): writeString(s, into: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(contentsOf: itemSeparator.utf8) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            out.append(UInt8(ascii: "{"))
            for (n, (key, item)) in (sortsKeys ? Self.sorted(members) : members).enumerated() {
                if n > 0 { out.append(contentsOf: itemSeparator.utf8) }
                writeString(key, into: &out)
                out.append(contentsOf: keySeparator.utf8)
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The members by name, the last of a repeated name winning.
    private static func sorted(_ members: [(String, JSONValue)]) -> [(String, JSONValue)] {
        var last: [String: JSONValue] = [:]
        for (key, value) in members { last[key] = value }
        return last.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Python's `repr(float)` for the values JSON can carry. An infinity (what a parsed
    /// out-of-range number such as `1e999` becomes) is written as `±1e999`, which parses
    /// back to it; NaN has no JSON form and becomes `null`.
    static func format(_ d: Double) -> String {
        if d.isNaN { return "null" }
        if d.isInfinite { return d < 0 ? "-1e999" : "1e999" }
        return d.description
    }

    /// Writes a string literal, copying runs of plain printable ASCII as they are.
    private func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = s
        text.withUTF8 { utf8 in
            var i = 0
            var runStart = 0
            func flushRun() {
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            }
            while i < utf8.count {
                let byte = utf8[i]
                if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte < 0x7F || !asciiOnly {
                    i += 1
                    continue
                }
                flushRun()
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8); i += 1
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8); i += 1
                case 0x0A: out.append(contentsOf: #"\n"#.utf8); i += 1
                case 0x0D: out.append(contentsOf: #"\r"#.utf8); i += 1
                case 0x09: out.append(contentsOf: #"\t"#.utf8); i += 1
                case 0x08: out.append(contentsOf: #"\b"#.utf8); i += 1
                case 0x0C: out.append(contentsOf: #"\f"#.utf8); i += 1
                case ..<0x80:
                    Self.appendEscape(UInt32(byte), into: &out)  // other control characters, and DEL
                    i += 1
                default:
                    // A multi-byte scalar (the string is valid UTF-8), escaped as UTF-16.
                    let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                    var v = UInt32(byte) & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F)
                    for k in 1..<length where i + k < utf8.count { v = v << 6 | UInt32(utf8[i + k] & 0x3F) }
                    if v > 0xFFFF {
                        let u = v - 0x10000
                        Self.appendEscape(0xD800 + (u >> 10), into: &out)
                        Self.appendEscape(0xDC00 + (u & 0x3FF), into: &out)
                    } else {
                        Self.appendEscape(v, into: &out)
                    }
                    i += length
                }
                runStart = i
            }
            flushRun()
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `\u` and four lowercase hex digits, as Python writes them.
    private static func appendEscape(_ v: UInt32, into out: inout [UInt8]) {
        func hex(_ n: UInt32) -> UInt8 { UInt8(truncatingIfNeeded: n < 10 ? 0x30 + n : 0x57 + n) }
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        out.append(hex(v >> 12 & 0xF))
        out.append(hex(v >> 8 & 0xF))
        out.append(hex(v >> 4 & 0xF))
        out.append(hex(v & 0xF))
    }
}
