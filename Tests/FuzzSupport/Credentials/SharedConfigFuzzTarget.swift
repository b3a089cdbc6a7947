import BedrockRuntime
import Foundation

/// The shared `~/.aws/config` / `credentials` file parser: every input parses or
/// throws a `ConfigurationError`, and neither the error nor a parsed section's
/// description shows a secret value from the file.
public enum SharedConfigFuzzTarget {
    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        let text = String(lossy: data)
        let secrets = SecretValues.inConfig(text)
        let shown: String
        do {
            shown = try SharedConfigFiles.parse(text, path: "fuzz-config").map { "\($0.0) \($0.1)" }.joined(
                separator: "\n")
        } catch {
            shown = error.description
        }
        if let leaked = secrets.first(where: { SecretValues.leaks($0, in: shown, text: text) }) {
            throw FuzzFinding("shared-config", "a secret value (\(leaked.count) characters) is shown: \(shown)")
        }
    }
}

/// Finding secret values in fuzz inputs and checking that output does not show them.
enum SecretValues {
    static let keys: Set<String> = ["aws_secret_access_key", "aws_session_token", "aws_security_token"]

    /// Values of secret keys in an INI-like text.
    /// An indented line after a key's line continues that key's value (configparser's
    /// continuation lines): it is not a key of its own, whatever it says (a false finding
    /// at 15:41 took ` aws_secret_access_key = …` under another key for a secret).
    static func inConfig(_ text: String) -> [String] {
        var inValue = false
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).compactMap { line in
            let indented = line.first.map { $0.isWhitespace || ("\u{1C}"..."\u{1F}").contains($0) } ?? false
            if indented && inValue { return nil }
            guard let equals = line.firstIndex(of: "=") else {
                inValue = false
                return nil
            }
            inValue = true
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            guard keys.contains(key) else { return nil }
            return line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
    }

    /// True when `secret` appears in `shown` although nothing but the secret put it there:
    /// long enough to be meaningful, and not also some non-secret part of `text`.
    static func leaks(_ value: String, in shown: String, text: String) -> Bool {
        // A section's description writes `key=value`, so a value that starts with `=` would
        // match any shown key whose value is the rest: only the value's own characters count.
        let secret = value.trimmingCharacters(in: CharacterSet(charactersIn: "= \t"))
        guard secret.count >= 8, shown.contains(secret) else { return false }
        // Only the lines whose key is not a secret one: the secret there is not a leak.
        let others = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).filter { line in
            guard let equals = line.firstIndex(of: "=") else { return true }
            return !keys.contains(line[..<equals].trimmingCharacters(in: .whitespaces).lowercased())
        }
        let rest = others.joined(separator: "\n")
        // What the description shows of those lines' values is not a leak either, nor what
        // it writes around them: a value `= http://E` shown last, before the description's
        // closing `)`, matched a secret `http://E)` (a false finding at 08:53).
        var visible = shown
        for line in others {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let shownValue = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            // The standard library's replacing: Foundation's trapped on a value with a NUL
            // (a false finding at 10:12).
            if !shownValue.isEmpty { visible = visible.replacing(shownValue, with: "\u{1}") }
        }
        guard visible.contains(secret) else { return false }
        // The descriptions name the secret keys themselves (`aws_secret_access_key=***`),
        // as written (`aws_secRet_access_key`): a secret that is a piece of a key's name,
        // in any case, is shown by the name, not leaked (a false finding at 11:35).
        return !rest.contains(secret) && !keys.contains { $0.contains(secret.lowercased()) }
    }
}
