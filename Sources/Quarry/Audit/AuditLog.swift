import Crypto
import Foundation

/// Where a host writes its audit log: one JSON line per Bedrock call and per call the
/// policy refused, hash-chained so an edit, a removal, a reordering or an insertion shows
/// (`quarry audit verify`).
///
/// Records hold who called (masked key id, its source, a role ARN), where (region,
/// endpoint host), what (operation, model), every attempt's request id and outcome, the
/// tokens and the latency — never a secret, and no prompt or answer text unless
/// `includeContent` is set: SHA-256 digests of the request and response bodies instead.
///
/// The file is created with mode 0600 (never through a symbolic link) and only ever
/// appended to. A log that already exists is continued: the first record a new run writes
/// chains onto the file's last record, so one file holds one chain across runs. A log that
/// cannot be opened makes the host's initializer throw, before any call is made.
public struct AuditLog: Sendable, Hashable {
    /// The log file.
    public var file: URL
    /// Whether records carry the request and response content (each record says so
    /// with `"content": true`).
    public var includeContent: Bool
    /// The run id records carry; nil makes a new one per host. A CLI run sets one for
    /// all the hosts it makes.
    public var runId: String?
    /// Whether each record is forced to disk (`fsync`) before the call returns.
    public var syncEachRecord: Bool

    /// A log at `file`.
    public init(file: URL, includeContent: Bool = false, runId: String? = nil, syncEachRecord: Bool = true) {
        self.file = file
        self.includeContent = includeContent
        self.runId = runId
        self.syncEachRecord = syncEachRecord
    }

    /// Opens (creating it if needed) and closes the log: a caller that must refuse to
    /// start when the log cannot be written calls this first.
    public func checkWritable() throws {
        let writer = try AuditWriter(self)
        writer.close()
    }

    /// The hash the first record of a log anchors on: SHA-256 of `quarry-audit:` + run id.
    public static func anchor(runId: String) -> String { sha256Hex(Array("quarry-audit:\(runId)".utf8)) }

    /// Lower-case hex SHA-256.
    public static func sha256Hex<D: DataProtocol>(_ bytes: D) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// Why an audit log could not be used.
public struct AuditLogError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, naming the file.
    public var message: String
    /// An error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
