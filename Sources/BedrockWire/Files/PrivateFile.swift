import Foundation

/// Writes files without following a symbolic link someone planted at (or beside) the
/// path, and with the mode asked for: new files with `O_CREAT|O_EXCL|O_NOFOLLOW`,
/// replacements through `mkstemp` in the same directory and an atomic `rename` (which
/// replaces a link at the path itself, never its target). Shared by the emulator (its
/// CA file) and the Quarry host and CLI (history, `:save`, test reports): it lives
/// here, below both, so the host need not link the emulator to write a file.
public enum PrivateFile {
    /// Why a file could not be written, naming the path.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        /// The path.
        public let path: String
        /// What went wrong (`strerror`, or why the file was refused).
        public let problem: String
        public var description: String { "cannot write \(path): \(problem)" }
    }

    /// Creates `path`, which must not exist (not even as a dangling link), with `mode`.
    public static func createNew(_ path: String, contents: [UInt8], mode: mode_t = 0o600) throws(WriteError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        fchmod(fd, mode)
        try writeAll(fd, contents, path: path)
    }

    /// Replaces `path` atomically with `contents`: a `mkstemp` file in the same
    /// directory, given `mode` (`nil`: the mode of the regular file being replaced,
    /// else 0644), renamed over the path.
    public static func replace(_ path: String, contents: [UInt8], mode: mode_t? = nil) throws(WriteError) {
        var existing = stat()
        let keptMode: mode_t? =
            lstat(path, &existing) == 0 && (existing.st_mode & S_IFMT) == S_IFREG
            ? existing.st_mode & 0o7777 : nil
        let finalMode = mode ?? keptMode ?? 0o644
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var template = Array((directory + "/." + url.lastPathComponent + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        guard fd >= 0 else { throw WriteError(path: path, problem: String(cString: strerror(errno))) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do throws(WriteError) {
            fchmod(fd, finalMode)
            try writeAll(fd, contents, path: temporary)
            guard fsync(fd) == 0 || errno == EINVAL else {
                throw WriteError(path: temporary, problem: String(cString: strerror(errno)))
            }
            close(fd)
            guard rename(temporary, path) == 0 else {
                throw WriteError(path: path, problem: String(cString: strerror(errno)))
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// Appends to `path`, creating it with `mode` if missing. A link at the path is
    /// refused (`O_NOFOLLOW`), as is anything but a regular file owned by this user
    /// with one name (a hard link to someone's `authorized_keys` is not appended to);
    /// only then is the file's mode set to `mode`.
    public static func append(_ path: String, contents: [UInt8], mode: mode_t = 0o600) throws(WriteError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode)
        guard fd >= 0 else {
            let problem = errno == ELOOP ? "it is a symbolic link (not followed)" : String(cString: strerror(errno))
            throw WriteError(path: path, problem: problem)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw WriteError(path: path, problem: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid(), info.st_nlink == 1 else {
            throw WriteError(path: path, problem: "not a regular file of this user with a single name (refused)")
        }
        if info.st_mode & 0o7777 != mode { fchmod(fd, mode) }
        try writeAll(fd, contents, path: path)
    }

    private static func writeAll(_ fd: Int32, _ contents: [UInt8], path: String) throws(WriteError) {
        var offset = 0
        while offset < contents.count {
            let n = contents.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return write(fd, base + offset, buffer.count - offset)
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EINTR || errno == EAGAIN) {
                continue
            } else {
                throw WriteError(path: path, problem: String(cString: strerror(errno)))
            }
        }
    }
}
