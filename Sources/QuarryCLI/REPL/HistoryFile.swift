import Foundation

/// The REPL's persistent history: `~/.quarry_history`, or `QUARRY_HISTORY`.
///
/// One input per line (a multi-line input keeps its newlines and so reads back as
/// several entries). The file is created with mode 0600 and set to 0600 whenever the
/// REPL writes it, holds at most `capacity` entries (older ones are dropped when the
/// REPL starts; `QUARRY_HISTORY_SIZE` changes the cap, default 1000), and never
/// receives an input `SecretFilter` refuses. `QUARRY_HISTORY=` (empty) turns the file off.
struct HistoryFile: Sendable {
    /// The file's path.
    let path: String
    /// The most entries kept.
    let capacity: Int

    /// The history file the environment asks for, or nil when history is turned off.
    static func fromEnvironment(_ environment: [String: String]) -> HistoryFile? {
        let capacity = environment["QUARRY_HISTORY_SIZE"].flatMap(Int.init).map { max($0, 1) } ?? 1000
        if let path = environment["QUARRY_HISTORY"] {
            return path.isEmpty ? nil : HistoryFile(path: path, capacity: capacity)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return HistoryFile(path: (home as NSString).appendingPathComponent(".quarry_history"), capacity: capacity)
    }

    /// The last `capacity` entries; rewrites the file when it held more.
    func load() -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let lines = String(decoding: data, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.count > capacity else { return lines }
        let kept = Array(lines.suffix(capacity))
        try? rewrite(kept)
        return kept
    }

    /// Appends one input (the caller has checked `SecretFilter.mayRecord`).
    func append(_ entry: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HistoryError(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        fchmod(fd, 0o600)
        TerminalOutput.write(entry + "\n", to: fd)
    }

    /// Replaces the file's contents atomically (a 0600 temporary file renamed over it).
    func rewrite(_ entries: [String]) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HistoryError(path: temporary, problem: String(cString: strerror(errno))) }
        fchmod(fd, 0o600)
        TerminalOutput.write(entries.map { $0 + "\n" }.joined(), to: fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let problem = String(cString: strerror(errno))
            unlink(temporary)
            throw HistoryError(path: path, problem: problem)
        }
    }
}

/// The history file could not be written.
struct HistoryError: Error, CustomStringConvertible {
    let path: String
    let problem: String
    var description: String { "cannot write history file \(path): \(problem)" }
}
