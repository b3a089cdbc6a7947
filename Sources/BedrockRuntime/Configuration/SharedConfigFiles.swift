import Foundation

/// One section of a shared file: flat `key = value` settings plus nested blocks
/// (`bedrock_runtime =` followed by indented `endpoint_url = …` lines).
public struct ConfigSection: Sendable, Hashable {
    /// `key = value` settings (keys as written).
    public var values: [String: String] = [:]
    /// Nested blocks by their key.
    public var nested: [String: [String: String]] = [:]
    /// Where the section came from, for error messages (`path [header]`).
    public var origin: String = ""

    /// The value of `key`, nil when absent or empty.
    public subscript(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }
}

/// `~/.aws/config` and `~/.aws/credentials`, parsed: profiles (credentials-file
/// settings override config-file ones), `sso-session` and `services` sections.
///
/// The format is botocore's: `[default]` / `[profile name]` in the config file,
/// `[name]` in the credentials file, `#` or `;` comment lines, `key = value`, indented
/// lines after `key =` form a nested block. Values are taken verbatim (no inline
/// comments). A missing file is simply empty; a malformed one is an error naming the
/// file and line.
public struct SharedConfigFiles: Sendable, Hashable {
    /// Profiles by name.
    public var profiles: [String: ConfigSection] = [:]
    /// `[sso-session name]` sections.
    public var ssoSessions: [String: ConfigSection] = [:]
    /// `[services name]` sections.
    public var services: [String: ConfigSection] = [:]

    /// Empty configuration.
    public init() {}

    /// Loads the files the environment points at.
    public static func load(from environment: ConfigurationEnvironment) throws(ConfigurationError) -> SharedConfigFiles
    {
        var files = SharedConfigFiles()
        try files.merge(path: environment.configFilePath, isCredentialsFile: false)
        try files.merge(path: environment.credentialsFilePath, isCredentialsFile: true)
        return files
    }

    /// Parses `text` (from `path`) into these sections.
    public mutating func merge(text: String, path: String, isCredentialsFile: Bool) throws(ConfigurationError) {
        for (header, section) in try Self.parse(text, path: path) {
            if isCredentialsFile {
                profiles[header, default: ConfigSection()].mergeOverriding(section)
                continue
            }
            let words = header.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if words.count == 2, words[0] == "profile" {
                profiles[words[1], default: ConfigSection()].mergeKeeping(section)
            } else if words.count == 2, words[0] == "sso-session" {
                ssoSessions[words[1]] = section
            } else if words.count == 2, words[0] == "services" {
                services[words[1]] = section
            } else if header == "default" {
                profiles["default", default: ConfigSection()].mergeKeeping(section)
            }
            // Other sections (e.g. `[plugins]`) are ignored, as botocore ignores them.
        }
    }

    private mutating func merge(path: String, isCredentialsFile: Bool) throws(ConfigurationError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadableFile(
                path: path, purpose: isCredentialsFile ? "shared credentials file" : "shared config file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .malformedFile(path: path, line: 1, problem: "file is not valid UTF-8")
        }
        try merge(text: text, path: path, isCredentialsFile: isCredentialsFile)
    }

    /// What Python's `str.strip()` removes: Unicode white space and line breaks, and the
    /// separators U+001C–U+001F.
    static let pythonWhitespace = CharacterSet.whitespacesAndNewlines.union(
        CharacterSet(charactersIn: "\u{1C}\u{1D}\u{1E}\u{1F}"))

    package static func parse(_ text: String, path: String) throws(ConfigurationError) -> [(String, ConfigSection)] {
        var sections: [(String, ConfigSection)] = []
        var current: ConfigSection?
        var header = ""
        var nestedKey: String?
        var nestedKeyIndent = 0
        // The last key with a value, and how far its line was indented.
        var lastKey: String?
        var lastKeyIndent = 0
        var lineNumber = 0
        func finish() {
            if let current { sections.append((header, current)) }
        }
        // Lines end as Python reads a text file (universal newlines): at "\n", "\r\n" (one
        // Character in Swift) and a lone "\r". Otherwise a line the AWS SDKs read as its own
        // joins the one before it, and a secret line became part of another key's shown
        // value (both found by fuzzing).
        let lineEnds: Set<Character> = ["\n", "\r\n", "\r"]
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: lineEnds.contains) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            // How far the line is indented, as configparser measures it (the offset of its
            // first non-space character): a line belongs to a nested block only when it is
            // indented deeper than the line that opened the block. `\ts3 =` then
            // ` aws_secret_access_key = …` is two keys to botocore, so two keys here (the
            // attacker audit: read as nested, the secret was shown by `dump`).
            let indent = line.prefix { $0.unicodeScalars.allSatisfy(Self.pythonWhitespace.contains) }.count
            // A line indented deeper than a key with a value continues that value, as
            // configparser reads it (`aws_session_token = A` then `  B=C` is one token,
            // "A\nB=C", to botocore; read as a key of its own, part of the secret was
            // shown). A header inside it is text of the value too; comment lines were
            // dropped above, as configparser drops them.
            if let continued = lastKey, indent > lastKeyIndent, nestedKey == nil {
                let piece = line.trimmingCharacters(in: Self.pythonWhitespace)
                if !piece.isEmpty { current?.values[continued, default: ""] += "\n" + piece }
                continue
            }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count > 2 else {
                    // The line itself is never echoed: it could hold a secret.
                    throw .malformedFile(path: path, line: lineNumber, problem: "section header is not closed with ']'")
                }
                finish()
                header = String(trimmed.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                current = ConfigSection(origin: "\(path) [\(header)]")
                nestedKey = nil
                lastKey = nil
                continue
            }
            guard current != nil else {
                throw .malformedFile(path: path, line: lineNumber, problem: "setting outside any [section]")
            }
            // configparser's delimiters: the first `=` or `:` (`aws_session_token: X` is the
            // token to botocore, so it must be a masked key here too).
            guard let equals = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                // Never echo the line: a mangled `aws_secret_access_key` line is a secret.
                throw .malformedFile(
                    path: path, line: lineNumber,
                    problem: "expected 'key = value' (the line's content is not shown: it may hold a secret)")
            }
            // Keys and values are trimmed as Python's `str.strip()` trims them (botocore's
            // configparser): a key written `aws_secret_access_key<U+001F>` is the secret
            // key to the AWS CLI, so it must be one here too, never shown (found by fuzzing).
            let key = trimmed[..<equals].trimmingCharacters(in: Self.pythonWhitespace)
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: Self.pythonWhitespace)
            guard !key.isEmpty else {
                throw .malformedFile(path: path, line: lineNumber, problem: "empty key before '='")
            }
            if let nestedKey, indent > nestedKeyIndent {
                current?.nested[nestedKey, default: [:]][key] = value
            } else if value.isEmpty {
                nestedKey = key
                nestedKeyIndent = indent
                lastKey = nil
                current?.values[key] = ""
            } else {
                nestedKey = nil
                lastKey = key
                lastKeyIndent = indent
                current?.values[key] = value
            }
        }
        finish()
        return sections
    }
}

extension ConfigSection {
    mutating func mergeOverriding(_ other: ConfigSection) {
        values.merge(other.values) { _, new in new }
        nested.merge(other.nested) { _, new in new }
        origin = origin.isEmpty ? other.origin : origin
    }

    mutating func mergeKeeping(_ other: ConfigSection) {
        // A later `[profile x]` section of the same file adds to the first.
        values.merge(other.values) { _, new in new }
        nested.merge(other.nested) { _, new in new }
        if origin.isEmpty { origin = other.origin }
    }
}

extension ConfigSection: CustomStringConvertible, CustomReflectable {
    /// Keys whose values are secrets and are shown as `***`.
    static let secretKeys: Set<String> = ["aws_secret_access_key", "aws_session_token", "aws_security_token"]

    private var shownValues: [(String, String)] {
        values.keys.sorted().map { key in
            (key, Self.secretKeys.contains(key.lowercased()) ? SecretMasking.redacted : values[key] ?? "")
        }
    }

    /// The nested blocks with secret values replaced by `***` (a secret key may sit in
    /// one: the AWS SDKs never read it there, but it is still a secret).
    private var shownNested: [String: [String: String]] {
        Dictionary(
            uniqueKeysWithValues: nested.map { outer, block in
                let all = Self.isSecret(outer)
                return (
                    outer,
                    Dictionary(
                        uniqueKeysWithValues: block.map { key, value in
                            (key, all || Self.isSecret(key) ? SecretMasking.redacted : value)
                        })
                )
            })
    }

    /// Whether `key` names a secret, or holds a secret key's name (a nested line
    /// `aws_secret_access_key: S=1` has the key `aws_secret_access_key: S`).
    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return secretKeys.contains { lowered.contains($0) }
    }

    /// The settings with secret values replaced by `***`.
    public var description: String {
        "ConfigSection(\(origin): " + shownValues.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + ")"
    }

    /// What `dump()` shows: settings with secret values replaced by `***`.
    public var customMirror: Mirror {
        Mirror(
            self, children: shownValues.map { (label: $0.0, value: $0.1 as Any) } + [("nested", shownNested as Any)],
            displayStyle: .struct)
    }
}
