import BedrockWire
import Foundation

/// The REPL's persistent history: `~/.quarry_history`, or `QUARRY_HISTORY`.
///
/// One input per line; a multi-line input's later lines start with the record separator
/// (U+001E), so it reads back as one entry (older files, without it, read as before). The file is created with mode 0600 and set to 0600 whenever the
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

    /// The last `capacity` entries; rewrites the file when it held more. A symbolic
    /// link at the path is not read through.
    func load() -> [String] {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
            let data = FileManager.default.contents(atPath: path)
        else { return [] }
        let lines = Self.entries(in: String(decoding: data, as: UTF8.self))
        guard lines.count > capacity else { return lines }
        let kept = Array(lines.suffix(capacity))
        try? rewrite(kept)
        return kept
    }

    /// Appends one input (the caller has checked `SecretFilter.mayRecord`). A symbolic
    /// link at the path is not followed and nothing but this user's own regular file
    /// is written or has its mode set (see `PrivateFile.append`).
    func append(_ entry: String) throws {
        do {
            try PrivateFile.append(path, contents: Array(Self.encode(entry).utf8), mode: 0o600)
        } catch {
            throw HistoryError(path: path, problem: error.problem)
        }
    }

    /// Replaces the file's contents atomically: a 0600 `mkstemp` file in the same
    /// directory renamed over the path (a link planted at the path or beside it is
    /// replaced or ignored, never written through).
    func rewrite(_ entries: [String]) throws {
        do {
            try PrivateFile.replace(path, contents: Array(entries.map(Self.encode).joined().utf8), mode: 0o600)
        } catch {
            throw HistoryError(path: path, problem: error.problem)
        }
    }
}

extension HistoryFile {
    /// Marks a line that continues the entry before it.
    static let continuation: Character = "\u{1E}"

    /// `entry` as the file holds it: its lines after the first marked, ending in a newline.
    static func encode(_ entry: String) -> String {
        entry.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated().map { $0.offset == 0 ? String($0.element) : String(continuation) + $0.element }
            .joined(separator: "\n") + "\n"
    }

    /// The entries of a history file's text (marked lines joined to the entry before).
    static func entries(in text: String) -> [String] {
        var entries: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.first == continuation, !entries.isEmpty {
                entries[entries.count - 1] += "\n" + line.dropFirst()
            } else if line.first != continuation {
                entries.append(String(line))
            }
        }
        return entries
    }
}

/// The history file could not be written.
struct HistoryError: Error, CustomStringConvertible {
    let path: String
    let problem: String
    var description: String { "cannot write history file \(path): \(problem)" }
}
