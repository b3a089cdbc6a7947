#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses JSON text into a `JSONValue`, keeping object members in document order.
///
/// Errors name the problem and its byte offset. Nesting is limited so hostile input
/// cannot exhaust the stack.
public struct JSONParser {
    /// Why a text is not JSON.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        /// Byte offset where it was found.
        public var offset: Int
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 512

    /// The text being parsed; only valid during `parse`.
    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses `bytes` (UTF-8) as exactly one JSON value, surrounded by optional whitespace.
    public static func parse<C: Collection>(_ bytes: C) throws(SyntaxError) -> JSONValue where C.Element == UInt8 {
        // Parse in place when the bytes are contiguous (arrays, ByteBuffer views, Data).
        let inPlace = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SyntaxError) in try parse(UnsafeRawBufferPointer(buffer)) }
        }
        if let inPlace { return try inPlace.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { raw in
            Result { () throws(SyntaxError) in try parse(raw) }
        }.get()
    }

    /// Parses a string of JSON text.
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        var text = text
        return try text.withUTF8 { utf8 in
            Result { () throws(SyntaxError) in try parse(UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// Parses raw UTF-8 bytes as exactly one JSON value.
    public static func parse(_ raw: UnsafeRawBufferPointer) throws(SyntaxError) -> JSONValue {
        var parser = JSONParser(raw)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else {
            throw SyntaxError(reason: "unexpected data after the value", offset: parser.index)
        }
        return value
    }

    /// Checks UTF-8 without making a string when the bytes are ASCII.
    enum UTF8Check {
        static func isValid(_ raw: UnsafeRawBufferPointer) -> Bool {
            var high: UInt8 = 0
            for byte in raw { high |= byte }
            return high < 0x80 || String(validating: raw, as: UTF8.self) != nil
        }
    }

    /// Reads a ConverseStream text delta, `{"contentBlockIndex":N,"delta":{"text":"…"}}`
    /// with any other members (such as the `"p"` padding) in any order, without building
    /// a document; nil for anything else (the caller then parses it in full). Nearly every
    /// event of a long answer is one of these.
    public static func textDelta(_ raw: UnsafeRawBufferPointer) -> (index: Int, text: String)? {
        var p = JSONParser(raw)
        var index: Int?
        var text: String?
        do throws(SyntaxError) {
            p.skipWhitespace()
            guard p.consume(UInt8(ascii: "{")) else { return nil }
            p.skipWhitespace()
            if p.consume(UInt8(ascii: "}")) { return nil }
            while true {
                p.skipWhitespace()
                // Member names are compared as bytes; one with escapes goes the long way.
                guard let key = p.plainString() else { return nil }
                p.skipWhitespace()
                guard p.consume(UInt8(ascii: ":")) else { return nil }
                p.skipWhitespace()
                if Self.bytes(key, equal: "contentBlockIndex") {
                    guard index == nil, case .integer(let i) = try p.parseValue(), let n = Int(exactly: i) else {
                        return nil
                    }
                    index = n
                } else if Self.bytes(key, equal: "delta") {
                    guard text == nil, p.consume(UInt8(ascii: "{")) else { return nil }
                    p.skipWhitespace()
                    guard let inner = p.plainString(), Self.bytes(inner, equal: "text") else { return nil }
                    p.skipWhitespace()
                    guard p.consume(UInt8(ascii: ":")) else { return nil }
                    p.skipWhitespace()
                    guard p.peek(UInt8(ascii: "\"")) else { return nil }
                    text = try p.parseString()
                    p.skipWhitespace()
                    guard p.consume(UInt8(ascii: "}")) else { return nil }
                } else if p.peek(UInt8(ascii: "\"")) {
                    // Another string member (the "p" padding): checked, not kept.
                    guard let value = p.plainString(), UTF8Check.isValid(value) else { return nil }
                } else {
                    // Any other member: a scalar is checked and dropped; an object or array
                    // sends the event to the general path, which counts its values before
                    // parsing (an unknown member of millions of `[]` took a stream's
                    // process to 265 MB here: the second attacker audit of 2026-12-06).
                    guard !p.peek(UInt8(ascii: "{")), !p.peek(UInt8(ascii: "[")) else { return nil }
                    _ = try p.parseValue()
                }
                p.skipWhitespace()
                if p.consume(UInt8(ascii: ",")) { continue }
                guard p.consume(UInt8(ascii: "}")) else { return nil }
                break
            }
            p.skipWhitespace()
            guard p.index == raw.count, let index, let text else { return nil }
            return (index, text)
        } catch {
            return nil
        }
    }

    @inline(__always)
    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    /// Where the string body starting at `start` stops being plain: the index of the
    /// first quote, backslash or control character (or the end), and whether a byte
    /// at or above 0x80 came before it. Eight bytes at a time.
    @inline(__always)
    private func scanPlain(from start: Int) -> (end: Int, sawHigh: Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        var high: UInt64 = 0
        let n = bytes.count
        while i + 8 <= n {
            let w = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let quote = w ^ (ones &* 0x22)
            let slash = w ^ (ones &* 0x5C)
            // A byte is flagged when it is 0x22, 0x5C or below 0x20; the lowest flag is exact.
            let special = (((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | ((w &- ones &* 0x20) & ~w)) & highs
            if special != 0 {
                let stop = special.trailingZeroBitCount >> 3
                let before: UInt64 = stop == 0 ? 0 : (w & (UInt64.max >> UInt64(64 - 8 * stop)))
                return (i + stop, (high | before) & highs != 0)
            }
            high |= w
            i += 8
        }
        var tail = false
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
            if c >= 0x80 { tail = true }
            i += 1
        }
        return (i, high & highs != 0 || tail)
    }

    /// The bytes of a string with no escapes or control characters at the reader,
    /// consumed; nil (nothing consumed) for anything else.
    private mutating func plainString() -> UnsafeRawBufferPointer? {
        guard peek(UInt8(ascii: "\"")) else { return nil }
        let end = scanPlain(from: index + 1).end
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<end])
        index = end + 1
        return raw
    }

    @inline(__always)
    private static func bytes(_ raw: UnsafeRawBufferPointer, equal literal: StaticString) -> Bool {
        guard raw.count == literal.utf8CodeUnitCount else { return false }
        guard let base = raw.baseAddress else { return raw.count == 0 }
        return memcmp(base, literal.utf8Start, raw.count) == 0
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek(byte) else { return false }
        index += 1
        return true
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func fail(_ reason: String) -> SyntaxError { SyntaxError(reason: reason, offset: index) }

    private mutating func parseValue() throws(SyntaxError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character '\(Unicode.Scalar(bytes[index]))'")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(SyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count, let base = bytes.baseAddress,
            memcmp(word.utf8Start, base + index, count) == 0
        else {
            throw fail("expected '\(word)'")
        }
        index += count
    }

    private mutating func enter() throws(SyntaxError) {
        depth += 1
        if depth > Self.maximumDepth { throw fail("nesting deeper than \(Self.maximumDepth)") }
    }

    private mutating func parseObject() throws(SyntaxError) -> JSONValue {
        try enter()
        index += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; depth -= 1; return .object(members) }
        members.reserveCapacity(4)
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try parseString(isKey: true)
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; break }
            throw fail("expected ',' or '}'")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws(SyntaxError) -> JSONValue {
        try enter()
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; depth -= 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; break }
            throw fail("expected ',' or ']'")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("bad hex digit in \\u escape")
            }
            v = v * 16 + d
            index += 1
        }
        return v
    }

    /// Reads a string. Most strings have no escapes: those are made straight from the
    /// input bytes (checked as UTF-8 only when they are not ASCII), and member names the
    /// service repeats in every event come back as literals.
    private mutating func parseString(isKey: Bool = false) throws(SyntaxError) -> String {
        index += 1
        let start = index
        let (end, sawHigh) = scanPlain(from: start)
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            index = end + 1
            if isKey, let known = Self.knownKey(raw) { return known }
            if !sawHigh { return String(decoding: raw, as: UTF8.self) }
            guard let s = String(validating: raw, as: UTF8.self) else {
                index = start
                throw fail("string is not valid UTF-8")
            }
            return s
        }
        return try parseEscapedString(from: start)
    }

    /// Member names longer than a small string (15 bytes), which would otherwise be
    /// allocated for every event of a stream.
    @inline(__always)
    private static func knownKey(_ raw: UnsafeRawBufferPointer) -> String? {
        guard raw.count > 15, let base = raw.baseAddress else { return nil }
        @inline(__always) func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == raw.count && memcmp(literal.utf8Start, base, raw.count) == 0
        }
        if equals("contentBlockIndex") { return "contentBlockIndex" }
        if equals("cacheReadInputTokens") { return "cacheReadInputTokens" }
        if equals("cacheWriteInputTokens") { return "cacheWriteInputTokens" }
        if equals("additionalModelResponseFields") { return "additionalModelResponseFields" }
        return nil
    }

    /// The general path: a string with escapes (or a bad character), from its first byte.
    private mutating func parseEscapedString(from start: Int) throws(SyntaxError) -> String {
        index = start
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let c = bytes[index]
            if c == UInt8(ascii: "\"") { index += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); index += 1; continue }
            index += 1
            guard index < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("unpaired surrogate") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
                out.append(contentsOf: String(Character(u)).utf8)
            default: throw fail("unknown escape '\\\(Unicode.Scalar(e))'")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while p.index < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.index]) {
                p.index += 1
            }
            return p.index - s
        }
        // RFC 8259: an integer part that starts with 0 is just "0", so "01" is the
        // number 0 followed by a stray "1" (no leading zeros).
        if index < bytes.count, bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits(&self) > 0 else { throw fail("expected digits") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard digits(&self) > 0 else { throw fail("expected digits after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw fail("expected exponent digits") }
        }
        if integral, index - start <= 18 {
            // Up to 18 digits cannot overflow an Int64.
            var value: Int64 = 0
            var i = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
            while i < index { value = value * 10 + Int64(bytes[i] &- UInt8(ascii: "0")); i += 1 }
            return .integer(bytes[start] == UInt8(ascii: "-") ? -value : value)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let i = Int64(text) { return .integer(i) }
        guard let d = Double(text) else { throw SyntaxError(reason: "number out of range", offset: start) }
        return .double(d)
    }
}
