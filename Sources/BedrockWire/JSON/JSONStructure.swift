/// A walk over the bytes of a JSON text that lie outside its strings: what counting
/// values or estimating sizes without parsing needs (answers before they are parsed,
/// batch records files on the way in, batch output lines on the way out).
package enum JSONStructure {
    /// Calls `body` with every byte outside strings, in order, each string's opening
    /// quote included (its contents, escapes and closing quote are skipped); stops early
    /// when `body` returns false.
    @inlinable
    package static func forEachByteOutsideStrings(_ bytes: some Sequence<UInt8>, _ body: (UInt8) -> Bool) {
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true }
            if !body(byte) { return }
        }
    }

    /// How many values `bytes` holds at least (one, plus one per container and per comma
    /// outside strings), counted without parsing; stops once past `limit`. What bounds a
    /// parse before it starts: a parsed tree costs tens of bytes per value.
    @inlinable
    package static func valueCount(_ bytes: some Sequence<UInt8>, stoppingAfter limit: Int) -> Int {
        var count = 1
        forEachByteOutsideStrings(bytes) { byte in
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ","):
                count += 1
                return count <= limit
            default:
                return true
            }
        }
        return count
    }

    /// Whether `bytes` holds at most `limit` JSON values (counted without parsing).
    package static func holdsAtMost(_ limit: Int, valuesIn bytes: some Sequence<UInt8>) -> Bool {
        valueCount(bytes, stoppingAfter: limit) <= limit
    }
}
