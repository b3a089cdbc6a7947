import Foundation
import TestSupport

/// Hex and base64 helpers for the vector files.
enum TestBytes {
    /// Bytes from a hex string; throws on odd length or a non-hex digit.
    static func hex(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw ConformanceFile.Missing(description: "odd-length hex string") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw ConformanceFile.Missing(description: "bad hex digit \(c)")
            }
        }
        var i = 0
        while i < digits.count {
            bytes.append(try nibble(digits[i]) << 4 | nibble(digits[i + 1]))
            i += 2
        }
        return bytes
    }

    /// Bytes from base64; throws when it does not decode.
    static func base64(_ text: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text) else {
            throw ConformanceFile.Missing(description: "bad base64 \(text.prefix(20))…")
        }
        return Array(data)
    }
}
