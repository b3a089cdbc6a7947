import BedrockRuntime

/// An S3 location `s3://bucket/key-or-prefix`, checked: a valid bucket name (3–63
/// lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit,
/// not an IP address) and a key of at most 1,024 bytes.
public struct S3URI: Sendable, Hashable, CustomStringConvertible {
    public let bucket: String
    /// The key or prefix (may be empty: the whole bucket).
    public let key: String

    /// A location from its parts; an error names what is wrong.
    public init(bucket: String, key: String = "") throws {
        guard S3URI.isValidBucketName(bucket) else {
            throw BedrockError.invalidRequest(
                "'\(S3URI.shown(bucket))' is not a valid S3 bucket name "
                    + "(3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit)")
        }
        guard key.utf8.count <= 1024 else {
            throw BedrockError.invalidRequest("an S3 key may have at most 1024 bytes, got \(key.utf8.count)")
        }
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket[/key]`.
    public init(uri: String) throws {
        guard uri.hasPrefix("s3://") else {
            throw BedrockError.invalidRequest("'\(S3URI.shown(uri))' is not an S3 URI (expected s3://bucket/key)")
        }
        let rest = uri.dropFirst("s3://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let key = slash < rest.endIndex ? String(rest[rest.index(after: slash)...]) : ""
        try self.init(bucket: String(rest[..<slash]), key: key)
    }

    /// `s3://bucket/key`.
    public var uri: String { "s3://\(bucket)/\(key)" }
    public var description: String { uri }

    /// This location's key as a folder prefix: ends with `/` unless empty.
    public var folderPrefix: String { key.isEmpty || key.hasSuffix("/") ? key : key + "/" }

    /// S3's bucket naming rules (general purpose buckets).
    public static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alphanumeric(_ b: UInt8) -> Bool { (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) }
        guard let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else {
            return false
        }
        guard bytes.allSatisfy({ alphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            return false
        }
        guard !name.contains("..") else { return false }
        let parts = name.split(separator: ".")
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return false }  // an IP address
        return true
    }

    /// A value cut short for an error message.
    static func shown(_ text: String) -> String {
        text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}
