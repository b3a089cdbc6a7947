/// The pieces of a SigV4 canonical request, computed exactly as botocore's
/// `SigV4Auth` computes them, plus the AWS CRT's stricter query form (which the
/// verifier also accepts).
///
/// All functions work on the raw, already percent-encoded URL parts as they go over
/// the wire, never on decoded values.
public enum SigV4Canonicalization {
    /// Header names botocore never signs (hop-by-hop and proxy headers, `User-Agent`,
    /// `Expect`, `X-Amzn-Trace-Id`).
    public static let unsignedHeaderNames: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// The SHA-256 of an empty body, in hex.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The canonical URI of a raw URL path: dot segments and empty segments removed
    /// (RFC 3986 §5.2.4 plus AWS's rule for repeated slashes), then percent-encoded
    /// once more, leaving only unreserved characters, `/` and `~` — so an encoded model
    /// id `v1%3A0` becomes `v1%253A0`. An empty path is `/`.
    public static func canonicalURI(rawPath: String) -> String {
        percentEncode(removeDotSegments(rawPath.isEmpty ? "/" : rawPath), keeping: slash)
    }

    /// botocore's `remove_dot_segments`: drops `.`, resolves `..`, collapses `//`, keeps
    /// a leading slash and a trailing slash (unless nothing is left).
    public static func removeDotSegments(_ path: String) -> String {
        guard !path.isEmpty else { return "" }
        if isAlreadyNormal(path) { return path }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }

    /// True when `removeDotSegments` would return `path` unchanged: it starts with `/`
    /// and has no empty, `.` or `..` segment (checked on bytes, no allocation).
    private static func isAlreadyNormal(_ path: String) -> Bool {
        var previous: UInt8 = 0
        var segmentLength = 0
        var dotsOnly = true
        var first = true
        for byte in path.utf8 {
            if first {
                guard byte == UInt8(ascii: "/") else { return false }
                first = false
                previous = byte
                continue
            }
            if byte == UInt8(ascii: "/") {
                if previous == UInt8(ascii: "/") { return false }
                if dotsOnly && segmentLength <= 2 { return false }
                segmentLength = 0
                dotsOnly = true
            } else {
                guard byte < 0x80 else { return false }
                segmentLength += 1
                if byte != UInt8(ascii: ".") { dotsOnly = false }
            }
            previous = byte
        }
        // The last segment (empty when the path ends with `/`, which is kept).
        if segmentLength > 0 && dotsOnly && segmentLength <= 2 { return false }
        return true
    }

    /// botocore's canonical query string for a raw query (without `?`): split on `&`,
    /// each pair split at the first `=`, copied verbatim (no re-encoding), sorted by
    /// key then value in code-point order, joined as `k=v` with `&`.
    public static func canonicalQuery(rawQuery: String) -> String {
        guard !rawQuery.isEmpty else { return "" }
        let pairs = rawQuery.split(separator: "&", omittingEmptySubsequences: false).map { pair -> (String, String) in
            guard let equals = pair.firstIndex(of: "=") else { return (String(pair), "") }
            return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
        }
        return sortedJoin(pairs)
    }

    /// The AWS CRT's canonical query string: every key and value is percent-decoded
    /// (`+` stays a literal plus) and re-encoded strictly (only unreserved characters
    /// left bare, upper-case hex), then sorted and joined like botocore's. Differs from
    /// `canonicalQuery` only for non-canonical input such as `a=b+c`, `p=a/b` or `%2f`.
    public static func crtCanonicalQuery(rawQuery: String) -> String {
        guard !rawQuery.isEmpty else { return "" }
        let pairs = rawQuery.split(separator: "&", omittingEmptySubsequences: false).map { pair -> (String, String) in
            let key: Substring
            let value: Substring
            if let equals = pair.firstIndex(of: "=") {
                key = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                key = pair
                value = ""
            }
            return (
                percentEncode(bytes: percentDecode(key), keeping: []),
                percentEncode(bytes: percentDecode(value), keeping: [])
            )
        }
        return sortedJoin(pairs)
    }

    /// Header value normalisation: leading/trailing whitespace removed and every inner
    /// run of whitespace (spaces, tabs, folded line breaks) replaced by one space —
    /// Python's `' '.join(value.split())`.
    public static func trimAll(_ value: String) -> String {
        if isAlreadyTrimmed(value) { return value }
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if isPythonWhitespace(scalar) {
                if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words.joined(separator: " ")
    }

    /// True for ASCII values with no whitespace but single inner spaces (most headers),
    /// which `trimAll` returns unchanged.
    private static func isAlreadyTrimmed(_ value: String) -> Bool {
        var previousSpace = true  // a leading space is not trimmed
        for byte in value.utf8 {
            guard byte < 0x80, !(0x09...0x0D).contains(byte), !(0x1C...0x1F).contains(byte) else { return false }
            if byte == 0x20 {
                if previousSpace { return false }
                previousSpace = true
            } else {
                previousSpace = false
            }
        }
        return !previousSpace || value.isEmpty
    }

    /// Canonical headers and the signed-header list for `headers` (name, value pairs
    /// in order; names compared case-insensitively). Values of repeated names are
    /// joined with `,` in order; names are sorted by code point.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (
        canonical: String, signed: String
    ) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(trimAll(value))
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let canonical = names.map { "\($0):\(values[$0, default: []].joined(separator: ","))" }.joined(separator: "\n")
        let signed = names.map { $0.trimmingSpaces }.joined(separator: ";")
        return (canonical, signed)
    }

    /// Percent-encodes `text` as UTF-8, leaving `A-Z a-z 0-9 - _ . ~` and the bytes in
    /// `keeping` literal; hex digits are upper case.
    public static func percentEncode<S: StringProtocol>(_ text: S, keeping: Set<UInt8>) -> String {
        percentEncode(bytes: text.utf8, keeping: keeping)
    }

    /// Decodes `%XX` escapes (either case); a `%` not followed by two hex digits is
    /// kept literally. `+` is not a space here.
    public static func percentDecode<S: StringProtocol>(_ text: S) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    private static func percentEncode<Bytes: Sequence<UInt8>>(bytes: Bytes, keeping: Set<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            if isUnreserved(byte) || keeping.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func sortedJoin(_ pairs: [(String, String)]) -> String {
        pairs.sorted { lhs, rhs in
            if lhs.0 != rhs.0 { return lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8) }
            return lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8)
        }
        .map { "\($0.0)=\($0.1)" }
        .joined(separator: "&")
    }

    private static let slash: Set<UInt8> = [UInt8(ascii: "/")]
    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The characters Python's `str.split()` treats as whitespace.
    private static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0: true
        default: scalar.properties.isWhitespace
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
