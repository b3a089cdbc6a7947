import Foundation

/// Reads a script's source (a file, or standard input) with a size cap, so that a huge or
/// endless input is a clear error and not the whole of it in memory.
enum ScriptSource {
    /// The largest script accepted (16 MiB; the sandbox's own `load` takes 1 MiB).
    static let maxBytes = 16 << 20

    enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case tooLarge(String)
        /// Standard input held nothing but white space (`quarry run - < /dev/null`).
        case emptyStandardInput

        var description: String {
            switch self {
            case .unreadable(let what): "cannot read \(what)"
            case .tooLarge(let what): "\(what) is larger than \(ScriptSource.maxBytes >> 20) MiB"
            case .emptyStandardInput:
                "no script on stdin: pipe one in (echo 'print(1 + 1)' | quarry run -) or name a file (quarry run FILE)"
            }
        }
    }

    /// Why `path` cannot be opened, in words (": no such file", …), for the error message.
    static func reason(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return ": no such file" }
        if isDirectory.boolValue { return ": it is a directory" }
        return FileManager.default.isReadableFile(atPath: path) ? "" : ": permission denied"
    }

    /// The exact bytes of the file at `path`, or of standard input when `path` is nil
    /// (which must hold a script: empty input is an error saying so, not a silent no-op).
    /// Bytes, not text: a string literal in a Lua script may hold any byte.
    static func read(path: String?) throws(Failure) -> [UInt8] {
        let what = path.map { "script '\($0)'" } ?? "the script on standard input"
        let handle: FileHandle
        if let path {
            // A directory opens but cannot be read: say which it is rather than failing later.
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw .unreadable(what + ": it is a directory")
            }
            guard let opened = FileHandle(forReadingAtPath: path) else { throw .unreadable(what + Self.reason(path)) }
            handle = opened
        } else {
            handle = FileHandle.standardInput
        }
        defer { if path != nil { try? handle.close() } }
        var data = Data()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch { throw .unreadable(what) }
            guard let chunk, !chunk.isEmpty else { break }
            data.append(chunk)
            if data.count > maxBytes { throw .tooLarge(what) }
        }
        if path == nil, data.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains($0) }) {
            throw .emptyStandardInput
        }
        return Array(data)
    }

    /// `read(path:)` as text (the REPL's `:load`, whose input travels inside its chunk).
    static func readText(path: String?) throws(Failure) -> String {
        String(decoding: try read(path: path), as: UTF8.self)
    }
}
