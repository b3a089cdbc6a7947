import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The open audit log of one host: appends chained records under an exclusive lock (so
/// hosts and processes sharing a file keep one chain), each written with one `write`.
final class AuditWriter: @unchecked Sendable {
    let log: AuditLog
    let runId: String
    private let lock = Mutex(())
    private var fd: Int32
    /// The hash the next record's `prev` carries, and the file size it belongs to.
    private var prev: String
    private var knownSize: off_t
    private(set) var failure: String?

    /// The longest record line read back when continuing a log.
    static let maxLineBytes = 16 << 20

    init(_ log: AuditLog) throws {
        self.log = log
        self.runId = log.runId ?? UUID().uuidString.lowercased()
        let path = log.file.path
        var fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0, errno == EEXIST {
            fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        }
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw AuditLogError("cannot open the audit log '\(path)': \(reason)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & 0o170000) == 0o100000 else {
            Glibc.close(fd)
            throw AuditLogError("the audit log '\(path)' is not a regular file")
        }
        guard info.st_uid == geteuid() else {
            Glibc.close(fd)
            throw AuditLogError(
                "the audit log '\(path)' belongs to another user (uid \(info.st_uid)); use a log of your own")
        }
        guard info.st_mode & 0o077 == 0 else {
            Glibc.close(fd)
            throw AuditLogError(
                "the audit log '\(path)' can be read or written by others (mode \(String(info.st_mode & 0o777, radix: 8))); make it 0600"
            )
        }
        self.fd = fd
        self.prev = AuditLog.anchor(runId: runId)
        self.knownSize = 0
        do {
            try withFileLock { try self.catchUp() }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Appends one record (a JSON object's members, without `prev`/`hash`): adds the
    /// chain fields, writes the line and (optionally) syncs. A failed write is kept: the
    /// host refuses further calls (`AuditLogFailed`).
    func append(_ members: [(String, JSONValue)]) {
        lock.withLock { _ in
            guard failure == nil, fd >= 0 else { return }
            do {
                try withFileLock {
                    try checkStillAtPath()
                    try catchUp()
                    let line = AuditChain.line(members, prev: prev)
                    var bytes = Array(line.utf8)
                    bytes.append(0x0A)
                    try writeAll(bytes)
                    if log.syncEachRecord { _ = fsync(fd) }
                    prev = AuditLog.sha256Hex(Array(line.utf8))
                    knownSize += off_t(bytes.count)
                }
            } catch {
                failure = "\(error)"
            }
        }
    }

    func close() {
        lock.withLock { _ in
            if fd >= 0 { Glibc.close(fd); fd = -1 }
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    // MARK: plumbing

    private func withFileLock<T>(_ body: () throws -> T) throws -> T {
        guard flock(fd, LOCK_EX) == 0 else {
            throw AuditLogError("cannot lock the audit log '\(log.file.path)': \(String(cString: strerror(errno)))")
        }
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }

    /// Whether the open file still is the one at the log's path: a log removed, renamed or
    /// replaced during a run would take records no one will read, so the host fails
    /// closed (`AuditLogFailed`) instead.
    private func checkStillAtPath() throws {
        let path = log.file.path
        var open = stat(), named = stat()
        guard fstat(fd, &open) == 0 else { throw AuditLogError("cannot read the audit log '\(path)'") }
        guard open.st_nlink > 0, lstat(path, &named) == 0, named.st_dev == open.st_dev, named.st_ino == open.st_ino
        else {
            throw AuditLogError(
                "the audit log '\(path)' was removed, renamed or replaced during the run; its records would be lost")
        }
    }

    /// When the file grew under us (another host or process), chain onto its last line.
    private func catchUp() throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw AuditLogError("cannot read the audit log '\(log.file.path)'") }
        guard info.st_size != knownSize else { return }
        if info.st_size == 0 {
            prev = AuditLog.anchor(runId: runId)
        } else {
            // Only a log's own chain is continued: a file whose last line is not a record
            // (any 0600 file named by mistake, a key file, garbage) is left as it is.
            let last = try lastLine(size: info.st_size)
            if case .failure(let problem) = AuditVerifier.chainFields(last) {
                throw AuditLogError(
                    "the audit log '\(log.file.path)' does not end in an audit record (its last line: \(problem.message)); Quarry only appends to an empty file or a log whose last line is a record. Check it with `quarry audit verify`, or choose another file"
                )
            }
            prev = AuditLog.sha256Hex(last)
        }
        knownSize = info.st_size
    }

    /// The bytes of the file's last line (without its newline).
    private func lastLine(size: off_t) throws -> [UInt8] {
        let path = log.file.path
        var end = size
        var last = [UInt8](repeating: 0, count: 1)
        guard pread(fd, &last, 1, end - 1) == 1 else { throw AuditLogError("cannot read the audit log '\(path)'") }
        guard last[0] == 0x0A else {
            throw AuditLogError(
                "the audit log '\(path)' ends in an incomplete record; check it with `quarry audit verify`")
        }
        end -= 1
        var collected: [UInt8] = []
        let chunk = 64 << 10
        while end > 0 {
            let start = max(0, end - off_t(chunk))
            var buffer = [UInt8](repeating: 0, count: Int(end - start))
            guard pread(fd, &buffer, buffer.count, start) == buffer.count else {
                throw AuditLogError("cannot read the audit log '\(path)'")
            }
            if let newline = buffer.lastIndex(of: 0x0A) {
                return Array(buffer[(newline + 1)...]) + collected
            }
            collected = buffer + collected
            guard collected.count <= Self.maxLineBytes else {
                throw AuditLogError("the audit log '\(path)' has a last line over \(Self.maxLineBytes) bytes")
            }
            end = start
        }
        return collected
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AuditLogError(
                    "cannot write the audit log '\(log.file.path)': \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}

/// How records are chained: the line is the record's members, then
/// `"prev":"<hex>"`, then `"hash":"<hex>"` where `hash` is the SHA-256 of the line's bytes
/// up to (not including) `,"hash":`; the next record's `prev` is the SHA-256 of this
/// whole line (without its newline).
enum AuditChain {
    static let hashMarker = ",\"hash\":\""

    static func line(_ members: [(String, JSONValue)], prev: String) -> String {
        var json = String(
            decoding: JSONWriter.compact.bytes(.object(members + [("prev", .string(prev))])), as: UTF8.self)
        json.removeLast()  // the closing brace
        let hash = AuditLog.sha256Hex(Array(json.utf8))
        return json + hashMarker + hash + "\"}"
    }
}
