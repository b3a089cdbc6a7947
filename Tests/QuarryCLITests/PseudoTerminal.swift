import Foundation
import Glibc

/// Runs the real `quarry` binary on a pseudo-terminal, as a user at a terminal would:
/// its own session with the pty as controlling terminal (so Ctrl-C written to the
/// master raises SIGINT in it), a fixed window size, and everything it writes collected.
///
/// Synchronisation is by polling the transcript for expected text with generous
/// deadlines (the suite runs on a loaded 2-core machine), never by fixed sleeps alone.
final class PseudoTerminal: @unchecked Sendable {
    private let master: Int32
    private let pid: pid_t
    private let lock = NSLock()
    private var raw: [UInt8] = []
    private var finished = false
    private var reader: Thread?

    /// Linux's TIOCSPTLCK and TIOCGPTN (asm-generic values, as on x86_64 and arm64) and
    /// glibc's POSIX_SPAWN_SETSID, which Swift does not import.
    private static let setPtyLock: UInt = 0x4004_5431
    private static let getPtyNumber: UInt = 0x8004_5430
    private static let spawnSetsid: Int32 = 0x80

    /// Errors from starting or waiting.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `quarry arguments…` on a new pty with exactly `environment`.
    init(arguments: [String] = [], environment: [String: String], columns: UInt16 = 120, rows: UInt16 = 40) throws {
        // posix_openpt/grantpt/unlockpt/ptsname are hidden behind feature macros in Swift's
        // Glibc module; the Linux ioctls they wrap are used directly.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, Self.setPtyLock, &unlock) == 0, ioctl(master, Self.getPtyNumber, &number) == 0
        else {
            throw Failure(description: "cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = "/dev/pts/\(number)"
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // After setsid, opening the slave makes it the child's controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        posix_spawn_file_actions_addclose(&actions, master)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(Self.spawnSetsid | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)))
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)

        let path = QuarryProcess.binary.path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard status == 0 else {
            close(master)
            throw Failure(description: "cannot start \(path): \(String(cString: strerror(status)))")
        }
        self.master = master
        self.pid = child
        let thread = Thread { [self] in self.readLoop() }
        thread.stackSize = 1 << 20
        reader = thread
        thread.start()
    }

    deinit {
        if !reaped {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    private var reaped = false

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n > 0 {
                lock.lock()
                raw.append(contentsOf: buffer[0..<n])
                lock.unlock()
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break  // EIO once the child has closed the terminal
            }
        }
        lock.lock()
        finished = true
        lock.unlock()
    }

    /// Everything shown so far, with terminal control sequences and carriage returns removed.
    var transcript: String {
        lock.lock()
        let bytes = raw
        lock.unlock()
        return Self.plain(String(decoding: bytes, as: UTF8.self))
    }

    /// Everything shown so far as the bytes the terminal received (invalid UTF-8 and NUL
    /// included).
    var rawBytes: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return raw
    }

    /// Everything shown so far, byte for byte (colour sequences included).
    var rawTranscript: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: raw, as: UTF8.self)
    }

    /// The text without ANSI escape sequences, `\r` and backspaces.
    static func plain(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[ -/]*[@-~]", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\u{1B}[()][0-9A-Za-z]", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\u{1B}[=>]", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\r", with: "")
            .replacingOccurrences(of: "\u{8}", with: "")
            .replacingOccurrences(of: "\u{7}", with: "")
    }

    /// Types `text` (keys as bytes: "\r" is Enter, "\t" Tab, "\u{3}" Ctrl-C, "\u{4}" Ctrl-D).
    func type(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let n = write(master, base + offset, buffer.count - offset)
                if n > 0 { offset += n } else if errno != EINTR { return }
            }
        }
    }

    /// Waits until the transcript after character offset `from` contains `needle`;
    /// returns that part of the transcript. Throws with the transcript on timeout.
    @discardableResult
    func waitFor(_ needle: String, after from: Int = 0, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let text = transcript
            let tail = from < text.count ? String(text.dropFirst(from)) : ""
            if tail.contains(needle) { return tail }
            if Date() > deadline {
                throw Failure(
                    description:
                        "timed out after \(timeout) s waiting for \(needle.debugDescription); screen so far:\n\(text)")
            }
            if isFinished {
                // The child has gone: give the reader a moment, then report.
                Thread.sleep(forTimeInterval: 0.05)
                let final = transcript
                if String(final.dropFirst(from)).contains(needle) { return String(final.dropFirst(from)) }
                throw Failure(description: "quarry exited before showing \(needle.debugDescription); screen:\n\(final)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Waits for the first prompt.
    func waitForPrompt(timeout: Double = 90) throws {
        try waitFor("quarry> ", timeout: timeout)
    }

    /// Types one line, waits for the next primary prompt, and returns what was shown
    /// between the end of the typed line and that prompt (the output of the line).
    func evaluate(_ line: String, timeout: Double = 60) throws -> String {
        let mark = transcript.count
        type(line + "\r")
        let shown = try waitFor("\nquarry> ", after: mark, timeout: timeout)
        var output = String(shown[..<shown.range(of: "\nquarry> ", options: .backwards)!.lowerBound])
        if let echo = output.range(of: line) { output = String(output[echo.upperBound...]) }
        if output.hasPrefix("\n") { output.removeFirst() }
        return output
    }

    /// Whether the child closed the terminal.
    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    /// Waits for the child to exit and returns its exit status (nil on timeout).
    func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < deadline {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                reaped = true
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }
}
