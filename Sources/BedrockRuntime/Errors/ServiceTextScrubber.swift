import Foundation
import NIOHTTP1
import Synchronization

/// Removes signing material from text a server sent before anyone downstream (scripts,
/// logs, the REPL) sees it.
///
/// AWS's `InvalidSignatureException` repeats the canonical request it expected, and with
/// it the `x-amz-security-token` value; other messages may echo an `Authorization`
/// header. `BedrockError` passes every piece of server text (message, code, request id,
/// resource name) through `scrub`, so there is one place that decides.
///
/// Two layers:
/// - Patterns, replaced with `[redacted]`: canonical-request and string-to-sign dumps
///   (from their heading to the end of the text), `Authorization` and
///   `X-Amz-Security-Token` values, `Signature=`, `Credential=` and `Bearer` values, any
///   64-hex-digit run (signatures, hashes), and runs of 100+ base64 characters; a whole
///   access key id (`AKIA`/`ASIA`… and 16 more) is masked to `AKIA…WXYZ`.
/// - The exact tokens this process has sent (session tokens and bearer tokens, which a
///   server sees; a secret key never leaves the signer), remembered as each request is
///   authorized, removed wherever they appear: as sent, percent-encoded, JSON-escaped,
///   base64 and hex; and any piece of one at least `fragmentLength` bytes long, found
///   with whitespace ignored (a token cut into short pieces between spaces passed both
///   the whole-token check and the 100-character rule).
public enum ServiceTextScrubber {
    static let marker = "[redacted]"

    /// Compiled once; `NSRegularExpression` is immutable after creation.
    private struct Rules: @unchecked Sendable {
        let list: [(NSRegularExpression, String)]
    }

    private static let rules: Rules = {
        let specs: [(String, String)] = [
            // A dump: everything from its heading on is signing material.
            (#"(?is)(the\s+)?(canonical\s+(string|request)|string[\s-]+to[\s-]+sign)\b.*"#, marker),
            (#"(?i)(authorization\s*[:=]\s*)[^\r\n'"]*"#, "$1" + marker),
            (#"(?i)(x-amz-security-token\s*[:=]\s*)[^\s&,;'"]*"#, "$1" + marker),
            (#"(?i)(signature\s*=\s*)[^\s&,;'"]*"#, "$1" + marker),
            (#"(?i)(credential\s*=\s*)[^\s&,;'"]*"#, "$1" + marker),
            (#"(?i)(bearer\s+)[^\s,;'"]+"#, "$1" + marker),
            (#"(?i)(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])"#, marker),
            (#"[A-Za-z0-9+/=_%-]{100,}"#, marker),
            // A whole access key id: masked as everywhere else (`AKIA…WXYZ`).
            (#"(?<![A-Za-z0-9])(AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[A-Z0-9]{12}([A-Z0-9]{4})(?![A-Za-z0-9])"#, "$1…$2"),
        ]
        return Rules(
            list: specs.compactMap { spec in
                (try? NSRegularExpression(pattern: spec.0)).map { ($0, spec.1) }
            })
    }()

    /// Tokens sent by this process, newest last, with the forms a server could echo.
    private static let sent = SentTokens()

    /// Remembers tokens a request carries to a server (session token, bearer token), so
    /// that any text coming back is cleaned of them. Values under 8 bytes are ignored.
    public static func remember(sentTokens tokens: [String]) {
        sent.add(tokens.filter { $0.utf8.count >= 8 })
    }

    /// `text` with signing material and every remembered token replaced by `[redacted]`.
    public static func scrub(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var out = text
        for form in sent.forms() where out.contains(form) {
            out = out.replacingOccurrences(of: form, with: marker)
        }
        for (regex, template) in rules.list {
            let range = NSRange(out.startIndex..., in: out)
            out = regex.stringByReplacingMatches(in: out, range: range, withTemplate: template)
        }
        return removingFragments(out, of: sent.pieces())
    }

    /// The shortest piece of a sent token removed when found inside other text.
    public static let fragmentLength = 16

    /// Every `fragmentLength`-byte piece of `tokens`.
    static func pieces(of tokens: [String]) -> Set<SIMD16<UInt8>> {
        var out: Set<SIMD16<UInt8>> = []
        for token in tokens {
            let bytes = Array(token.utf8)
            guard bytes.count >= fragmentLength else { continue }
            for i in 0...(bytes.count - fragmentLength) { out.insert(piece(bytes, i)) }
        }
        return out
    }

    private static func piece(_ bytes: [UInt8], _ start: Int) -> SIMD16<UInt8> {
        var v = SIMD16<UInt8>()
        for k in 0..<16 { v[k] = bytes[start + k] }
        return v
    }

    /// `text` with every run that, whitespace ignored, is made of `pieces` (so holds a
    /// `fragmentLength`-byte piece of a sent token) replaced by `[redacted]`, the
    /// whitespace inside the run with it.
    static func removingFragments(_ text: String, of pieces: Set<SIMD16<UInt8>>) -> String {
        guard !pieces.isEmpty else { return text }
        let bytes = Array(text.utf8)
        // The positions of the bytes that are not whitespace.
        var kept: [Int] = []
        kept.reserveCapacity(bytes.count)
        var compact: [UInt8] = []
        compact.reserveCapacity(bytes.count)
        for (i, b) in bytes.enumerated() where !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C) {
            kept.append(i)
            compact.append(b)
        }
        guard compact.count >= fragmentLength else { return text }
        var covered = [Bool](repeating: false, count: compact.count)
        var found = false
        for i in 0...(compact.count - fragmentLength) where pieces.contains(piece(compact, i)) {
            for k in i..<(i + fragmentLength) { covered[k] = true }
            found = true
        }
        guard found else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var next = 0  // the next original byte to copy
        var c = 0
        while c < compact.count {
            guard covered[c] else {
                c += 1
                continue
            }
            var last = c
            while last + 1 < compact.count, covered[last + 1] { last += 1 }
            out += bytes[next..<kept[c]]
            out += Array(marker.utf8)
            next = kept[last] + 1
            c = last + 1
        }
        out += bytes[next...]
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` scrubbed, and with each of `secrets` removed wherever it appears (in any of
    /// the encoded forms above).
    public static func scrub(_ text: String, removing secrets: [String]) -> String {
        var out = text
        for secret in secrets where secret.utf8.count >= 8 {
            for form in SentTokens.forms(of: secret) where out.contains(form) {
                out = out.replacingOccurrences(of: form, with: marker)
            }
        }
        return removingFragments(scrub(out), of: pieces(of: secrets))
    }

    /// A server-chosen identifier (an error code, a request id) as a script may see it:
    /// `fallback` unless it is 1–128 characters of letters, digits and `-_.:#/`, and
    /// holds nothing the scrubber would remove.
    public static func identifier(_ text: String?, fallback: String? = nil) -> String? {
        // Byte checks: every allowed character is ASCII, so a non-ASCII one has a byte
        // outside the table (Foundation's CharacterSet was a slow lookup per character,
        // on every answer's request id).
        guard let text, !text.isEmpty, text.utf8.count <= 128,
            text.utf8.allSatisfy({ allowedInIdentifiers[Int($0)] }),
            !scrubWouldChange(identifier: text)
        else { return fallback }
        return text
    }

    /// Whether `scrub` would change `text`, an identifier (characters from
    /// `allowedInIdentifiers` only). Every request id of every answer comes here, so the
    /// patterns run only when one could match: without whitespace or `=`, only the dump
    /// heading (`string-to-sign`), the `authorization:` and `x-amz-security-token:`
    /// values (their names) and the long runs (64 characters or more) can; the tokens
    /// this process sent are always checked.
    static func scrubWouldChange(identifier text: String) -> Bool {
        if text.utf8.count >= 64 { return scrub(text) != text }
        if containsIgnoringASCIICase(text, "string") || containsIgnoringASCIICase(text, "authorization")
            || containsIgnoringASCIICase(text, "token") || mayHoldAccessKeyId(text)
        {
            return scrub(text) != text
        }
        return sent.forms().contains { text.contains($0) } || removingFragments(text, of: sent.pieces()) != text
    }

    /// Whether `text` has one of the access key id prefixes (`AKIA`, `ASIA`, …) with room
    /// for a whole id (20 characters) after it: a server that echoes the caller's key id
    /// in a request id or an error code gets it masked, as everywhere else.
    static func mayHoldAccessKeyId(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return false }
        let prefixes: [[UInt8]] = ["AKIA", "ASIA", "ABIA", "ACCA", "AROA", "AIDA"].map { Array($0.utf8) }
        for start in 0...(bytes.count - 20) where bytes[start] == 0x41 {
            let four = bytes[start..<(start + 4)]
            if prefixes.contains(where: { four.elementsEqual($0) }) { return true }
        }
        return false
    }

    /// Whether `text` contains `word` (lowercase ASCII), ignoring ASCII case: what
    /// `text.lowercased().contains(word)` answers for ASCII text, without Foundation's
    /// string search (a CFString search on Linux, per answer).
    static func containsIgnoringASCIICase(_ text: String, _ word: StaticString) -> Bool {
        let needle = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        let haystack = Array(text.utf8)
        guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
        for start in 0...(haystack.count - needle.count) {
            var i = 0
            while i < needle.count {
                var byte = haystack[start + i]
                if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
                if byte != needle[i] { break }
                i += 1
            }
            if i == needle.count { return true }
        }
        return false
    }

    /// The bytes an identifier may hold: letters, digits and `-_.:#/` (all ASCII).
    private static let allowedInIdentifiers: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:#/".utf8 {
            table[Int(byte)] = true
        }
        return table
    }()
}

/// The recent tokens this process sent, bounded (credentials rotate; 32 is plenty).
private final class SentTokens: @unchecked Sendable {
    private let lock = Mutex(())
    private var tokens: [String] = []
    private var cachedForms: [String] = []
    private var cachedPieces: Set<SIMD16<UInt8>> = []

    func add(_ new: [String]) {
        lock.withLock { _ in
            let fresh = new.filter { !tokens.contains($0) }
            guard !fresh.isEmpty else { return }
            tokens.append(contentsOf: fresh)
            if tokens.count > 32 { tokens.removeFirst(tokens.count - 32) }
            cachedForms = tokens.flatMap(Self.forms(of:)).sorted { $0.utf8.count > $1.utf8.count }
            cachedPieces = ServiceTextScrubber.pieces(of: tokens)
        }
    }

    func forms() -> [String] { lock.withLock { _ in cachedForms } }

    /// Every `ServiceTextScrubber.fragmentLength`-byte piece of the tokens.
    func pieces() -> Set<SIMD16<UInt8>> { lock.withLock { _ in cachedPieces } }

    /// The token as sent, percent-encoded, JSON-escaped, base64 (padded and not) and hex.
    static func forms(of token: String) -> [String] {
        var forms: Set<String> = [token]
        if let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { forms.insert(encoded) }
        forms.insert(token.replacingOccurrences(of: "/", with: "\\/"))
        let base64 = Data(token.utf8).base64EncodedString()
        forms.insert(base64)
        forms.insert(String(base64.prefix { $0 != "=" }))
        forms.insert(token.utf8.map { String(format: "%02x", $0) }.joined())
        forms.insert(token.utf8.map { String(format: "%02X", $0) }.joined())
        return forms.filter { $0.utf8.count >= 8 }.sorted { $0.utf8.count > $1.utf8.count }
    }
}

extension HTTPHeaders {
    /// The answer's request id (`x-amzn-RequestId`, or S3's `x-amz-request-id`) when it
    /// is a plain identifier: a server cannot pass text to callers through it.
    var requestId: String? {
        ServiceTextScrubber.identifier(first(name: "x-amzn-RequestId") ?? first(name: "x-amz-request-id"))
    }
}
