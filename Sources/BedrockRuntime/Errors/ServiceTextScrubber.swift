import Foundation

/// Removes signing material from text a server sent before anyone downstream (scripts,
/// logs, the REPL) sees it.
///
/// AWS's `InvalidSignatureException` repeats the canonical request it expected, and with
/// it the `x-amz-security-token` value; other messages may echo an `Authorization`
/// header. `BedrockError` passes every message through `scrub`, so there is one place
/// that decides. Replaced with `[redacted]`: canonical-request and string-to-sign dumps
/// (from their heading to the end of the message), `Authorization` and
/// `X-Amz-Security-Token` values, `Signature=`, `Credential=` and `Bearer` values, any
/// 64-hex-digit run (signatures, hashes), and runs of 100+ base64 characters (session
/// tokens). The process's own secrets are removed separately with `scrub(_:removing:)`.
public enum ServiceTextScrubber {
    static let marker = "[redacted]"

    private static var rules: [(NSRegularExpression, String)] {
        let specs: [(String, String)] = [
            // A dump: everything from its heading on is signing material.
            (#"(?is)(the\s+)?(canonical\s+(string|request)|string[\s-]+to[\s-]+sign)\b.*"#, marker),
            (#"(?i)(authorization\s*[:=]\s*)[^\r\n'"]*"#, "$1" + marker),
            (#"(?i)(x-amz-security-token\s*[:=]\s*)[^\s&,;'"]*"#, "$1" + marker),
            (#"(?i)(signature\s*=\s*)[^\s&,;'"]*"#, "$1" + marker),
            (#"(?i)(credential\s*=\s*)[^\s&,;'"]*"#, "$1" + marker),
            (#"(?i)(bearer\s+)[^\s,;'"]+"#, "$1" + marker),
            (#"(?i)(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])"#, marker),
            (#"[A-Za-z0-9+/=_-]{100,}"#, marker),
        ]
        return specs.compactMap { spec in
            (try? NSRegularExpression(pattern: spec.0)).map { ($0, spec.1) }
        }
    }

    /// `text` with signing material replaced by `[redacted]`.
    public static func scrub(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var out = text
        for (regex, template) in rules {
            let range = NSRange(out.startIndex..., in: out)
            out = regex.stringByReplacingMatches(in: out, range: range, withTemplate: template)
        }
        return out
    }

    /// `text` scrubbed, and with each of `secrets` (the exact secret key, session token
    /// or bearer token in use; short values are ignored) removed wherever it appears.
    public static func scrub(_ text: String, removing secrets: [String]) -> String {
        var out = scrub(text)
        for secret in secrets where secret.utf8.count >= 8 {
            out = out.replacingOccurrences(of: secret, with: marker)
        }
        return out
    }
}
