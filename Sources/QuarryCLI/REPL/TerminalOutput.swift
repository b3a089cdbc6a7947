import Foundation
import Quarry
import Synchronization

/// Where the REPL writes: script output, results, errors and status lines.
///
/// Writes go straight to the file descriptor (no buffering), so streamed tokens and
/// `print` output appear as they are produced. It remembers whether the last byte
/// written to stdout ended a line, so a status line or a prompt never lands in the
/// middle of a half-printed answer.
final class TerminalOutput: Sendable {
    /// Whether ANSI colour is used (stdout is a terminal and `NO_COLOR` is not set).
    let colour: Bool
    private let atLineStart = Mutex(true)

    init(colour: Bool) { self.colour = colour }

    /// Decides colour the way the NO_COLOR convention asks: only on a terminal, never
    /// when `NO_COLOR` is set to anything non-empty or the terminal is `dumb`.
    static func wantsColour(environment: [String: String], stdoutIsTerminal: Bool) -> Bool {
        guard stdoutIsTerminal else { return false }
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }

    /// Writes script output (print, write, streamed tokens) as the exact bytes written:
    /// Lua strings are bytes, and invalid UTF-8 or a NUL reaches the terminal unchanged.
    func script(_ bytes: [UInt8]) {
        guard let last = bytes.last else { return }
        atLineStart.withLock { atStart in
            Self.write(bytes, to: STDOUT_FILENO)
            atStart = last == UInt8(ascii: "\n")
        }
    }

    /// Writes a line of bytes on stdout (an evaluation's rendered values), first ending
    /// any unfinished line.
    func line(bytes: [UInt8]) {
        atLineStart.withLock { atStart in
            if !atStart { Self.write(Array("\n".utf8), to: STDOUT_FILENO) }
            Self.write(bytes + [UInt8(ascii: "\n")], to: STDOUT_FILENO)
            atStart = true
        }
    }

    /// Writes a whole line on stdout, first ending any unfinished line.
    func line(_ text: String) {
        atLineStart.withLock { atStart in
            Self.write((atStart ? "" : "\n") + text + "\n", to: STDOUT_FILENO)
            atStart = true
        }
    }

    /// Writes an error line on stderr (red on a terminal). Control characters in
    /// `text` (which may quote a service's message) are escaped first.
    func error(_ text: String) {
        atLineStart.withLock { atStart in
            if !atStart { Self.write("\n", to: STDOUT_FILENO) }
            atStart = true
            Self.write(paint(TerminalText.escaped(text), .red) + "\n", to: STDERR_FILENO)
        }
    }

    /// Ends an unfinished line so the next prompt starts at column 0.
    func finishLine() {
        atLineStart.withLock { atStart in
            if !atStart { Self.write("\n", to: STDOUT_FILENO) }
            atStart = true
        }
    }

    /// ANSI styles the REPL uses.
    enum Style: String, Sendable {
        case red = "31", green = "32", yellow = "33", cyan = "36", dim = "2", bold = "1"
    }

    /// `text` in `style` when colour is on, else unchanged.
    func paint(_ text: String, _ style: Style) -> String {
        colour ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// Writes all of `text`, retrying short writes and EINTR.
    static func write(_ text: String, to fd: Int32) { write(Array(text.utf8), to: fd) }

    /// Writes all of `bytes`, retrying short writes and EINTR.
    static func write(_ bytes: [UInt8], to fd: Int32) {
        var bytes = bytes
        var offset = 0
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// The terminal's width in columns (80 when unknown).
    static func columns() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
