import BedrockBatch
import Foundation

/// One `allowedBuckets` entry, parsed: a bucket and an optional folder prefix.
struct BucketRule: Sendable, Hashable {
    var bucket: String
    /// The folder (no leading or trailing `/`), or nil for the whole bucket.
    var prefix: String?

    init(_ text: String) throws(ScriptError) {
        let shown = HostPolicy.printable(text)
        let trimmed = text.hasPrefix("s3://") ? String(text.dropFirst(5)) : text
        let slash = trimmed.firstIndex(of: "/") ?? trimmed.endIndex
        let bucket = String(trimmed[..<slash])
        guard S3URI.isValidBucketName(bucket) else {
            throw ScriptError(
                code: .configurationError, message: "'\(shown)' does not start with a valid S3 bucket name")
        }
        var prefix = slash < trimmed.endIndex ? String(trimmed[trimmed.index(after: slash)...]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard BatchKey.isPlain(prefix) else {
            throw ScriptError(
                code: .configurationError, message: "'\(shown)' has an empty, '.' or '..' segment in its prefix")
        }
        self.bucket = bucket
        self.prefix = prefix.isEmpty ? nil : prefix
    }

    /// Whether `location` (a key, or a prefix the job reads or writes under) is inside this rule.
    /// Compared as UTF-8 bytes, as S3 compares keys: Swift's `==` and `hasPrefix` treat
    /// canonically equivalent strings (`K` and the Kelvin sign, NFC and NFD) as equal.
    func allows(_ location: S3URI) -> Bool {
        guard location.bucket.utf8.elementsEqual(bucket.utf8) else { return false }
        guard let prefix else { return true }
        let key = Array(location.key.utf8)
        let folder = Array(prefix.utf8)
        return key == folder || (key.count > folder.count && key.starts(with: folder + [UInt8(ascii: "/")]))
    }
}

/// Keys a policy can reason about.
enum BatchKey {
    /// Whether `key` has no empty (`a//b`), `.` or `..` segment (a trailing `/` is fine):
    /// a proxy or server that normalises paths could otherwise move it out of its folder.
    /// Split on the `/` byte, as S3 and any proxy do: split on Characters, a `/` followed
    /// by a combining mark or a joiner is no separator, and `a/../\u{301}x` looked plain.
    static func isPlain(_ key: String) -> Bool {
        guard !key.isEmpty else { return true }
        var segments = Array(key.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if segments.last?.isEmpty == true { segments.removeLast() }
        let dot = UInt8(ascii: ".")
        return segments.allSatisfy { !$0.isEmpty && !$0.elementsEqual([dot]) && !$0.elementsEqual([dot, dot]) }
    }
}

/// IAM role ARNs.
enum RoleARN {
    /// `arn:{partition}:iam::{12 digits}:role/{path/}name`, as the service's pattern allows.
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", ["aws", "aws-cn", "aws-us-gov"].contains(parts[1]),
            parts[2] == "iam", parts[3].isEmpty, parts[4].count == 12, parts[4].allSatisfy(\.isASCII),
            parts[4].allSatisfy(\.isNumber), parts[5].hasPrefix("role/")
        else { return false }
        let name = parts[5].dropFirst("role/".count)
        guard !name.isEmpty, text.utf8.count <= 2048 else { return false }
        return name.unicodeScalars.allSatisfy { s in
            s.isASCII && (CharacterSet.alphanumerics.contains(s) || "+=,.@_-/".unicodeScalars.contains(s))
        }
    }
}

extension HostPolicy {
    /// Throws `PolicyViolation` unless a batch job may use `location` (`what`: "input",
    /// "output"). On an emulator target an empty list allows any bucket.
    func checkBucket(_ location: S3URI, what: String, emulator: Bool) throws(ScriptError) {
        guard BatchKey.isPlain(location.key) else {
            throw ScriptError(
                code: .policyViolation,
                message:
                    "bucket '\(location.bucket)': the \(what) key '\(Self.printable(location.key))' has an empty, '.' or '..' segment; the host policy refuses it"
            )
        }
        if allowedBuckets.isEmpty && emulator { return }
        let rules = allowedBuckets.compactMap { try? BucketRule($0) }
        guard rules.contains(where: { $0.allows(location) }) else {
            let allowed =
                allowedBuckets.isEmpty
                ? "none: the host names the buckets batch jobs may use (--allow-bucket / HostPolicy.allowedBuckets)"
                : allowedBuckets.joined(separator: ", ")
            throw ScriptError(
                code: .policyViolation,
                message:
                    "bucket '\(location.bucket)' (\(what) \(Self.printable(location.uri))) is not allowed by the host policy (allowed: \(allowed))"
            )
        }
    }

    /// Throws `PolicyViolation` unless a batch job may run as `roleArn`. On an emulator
    /// target an empty list allows any role.
    func checkRole(_ roleArn: String, emulator: Bool) throws(ScriptError) {
        guard RoleARN.isValid(roleArn) else {
            throw ScriptError(
                code: .validationError,
                message:
                    "bedrock.batch: 'role_arn' must be an IAM role ARN (arn:aws:iam::123456789012:role/Name), got '\(Self.printable(roleArn))'"
            )
        }
        if allowedRoles.isEmpty && emulator { return }
        guard allowsRole(roleArn) else {
            throw ScriptError(
                code: .policyViolation,
                message:
                    "role '\(Self.printable(roleArn))' is not allowed by the host policy (allowed: \(allowedRolesText))"
            )
        }
    }

    /// Whether `allowedRoles` names `roleArn` (byte for byte) or holds `*`.
    func allowsRole(_ roleArn: String) -> Bool {
        allowedRoles.contains("*") || allowedRoles.contains(where: { $0.utf8.elementsEqual(roleArn.utf8) })
    }

    /// `allowedRoles` as a refusal lists them, or what to do when there are none.
    var allowedRolesText: String {
        allowedRoles.isEmpty
            ? "none: the host names the roles batch jobs may run as (--allow-role / HostPolicy.allowedRoles)"
            : allowedRoles.joined(separator: ", ")
    }
}

extension HostPolicy {
    /// Throws `PolicyViolation` unless the host policy allows acting on an existing job
    /// (`bedrock.batch_job`: its status, results and stop): the job's role and its output
    /// folder, as the service describes them, must be allowed as a new job's would be.
    /// On an emulator target an empty list allows any, as for new jobs; on AWS, with no
    /// `--allow-role`/`--allow-bucket`, no other job can be looked at or stopped.
    func checkExistingJob(id: String, roleArn: String, output: String?, emulator: Bool) throws(ScriptError) {
        let function = "bedrock.batch_job"
        if !(allowedRoles.isEmpty && emulator), !allowsRole(roleArn) {
            throw ScriptError(
                code: .policyViolation,
                message:
                    "\(function): job \(id) runs as role '\(Self.printable(roleArn))', which the host policy does not allow (allowed: \(allowedRolesText))"
            )
        }
        if allowedBuckets.isEmpty && emulator { return }
        guard let text = output, let location = try? S3URI(uri: text) else {
            throw ScriptError(
                code: .policyViolation,
                message:
                    "\(function): job \(id) has no S3 output folder the host policy can check ('\(Self.printable(output ?? ""))')"
            )
        }
        do {
            try checkBucket(location, what: "output", emulator: emulator)
        } catch {
            throw ScriptError(code: .policyViolation, message: "\(function): job \(id): \(error.message)")
        }
    }
}
