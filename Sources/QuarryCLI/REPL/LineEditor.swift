import CReadline
import Foundation
import Synchronization

/// What one prompt produced.
enum LineInput: Sendable, Equatable {
    /// A line the user entered (without its newline).
    case line(String)
    /// Ctrl-C at the prompt: the half-typed line was dropped.
    case interrupted
    /// Ctrl-D on an empty line, or stdin closed.
    case endOfInput
}

/// GNU readline on its own serial queue, through readline's callback interface.
///
/// The editor polls stdin and a wake-up pipe: a Ctrl-C at the prompt (reported by
/// `InterruptSignal`, which only writes a byte to the pipe) abandons the line without
/// any readline signal handler running. All readline state is touched only on the
/// editor's queue; completion is delegated to a `Completer`, which may block that
/// queue briefly while it asks the Lua host for keys.
final class LineEditor: Sendable {
    private let queue = DispatchQueue(label: "quarry.repl.readline")
    private let wake: WakePipe

    /// Configures readline (name `quarry`, our word breaks, our completer) and creates
    /// the wake-up pipe.
    init(completer: Completer) throws {
        wake = try WakePipe()
        LineEditorMailbox.shared.completer.withLock { $0 = completer }
        queue.sync {
            quarry_rl_configure({ text, start, end in
                LineEditorMailbox.complete(text: text, start: start, end: end)
            })
            using_history()
        }
    }

    /// The GNU readline library version.
    static var readlineVersion: String { quarry_rl_version().map { String(cString: $0) } ?? "unknown" }

    /// Shows `prompt` and edits one line.
    func read(prompt: String) async -> LineInput {
        await withCheckedContinuation { continuation in
            queue.async { [wake] in
                continuation.resume(returning: Self.readOnQueue(prompt: prompt, wake: wake))
            }
        }
    }

    /// Adds an entry to the in-memory history (up-arrow and Ctrl-R find it).
    func addHistory(_ entry: String) {
        queue.sync { entry.withCString { add_history($0) } }
    }

    /// The in-memory history, oldest first.
    func history() -> [String] {
        queue.sync {
            (0..<quarry_history_length()).compactMap { quarry_history_line($0).map { String(cString: $0) } }
        }
    }

    /// Interrupts the prompt being edited (called when SIGINT arrives at the prompt).
    func interruptPrompt() { wake.signal() }

    private static func readOnQueue(prompt: String, wake: WakePipe) -> LineInput {
        wake.drain()
        let mailbox = LineEditorMailbox.shared
        mailbox.reset()
        rl_callback_handler_install(prompt) { raw in
            // readline's line callback: take the line and stop editing until the next prompt.
            LineEditorMailbox.shared.deliver(raw.map { String(cString: $0) })
            free(raw)
            rl_callback_handler_remove()
        }
        var fds = [
            pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                rl_callback_handler_remove()
                return .endOfInput
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                wake.drain()
                TerminalOutput.write("^C\n", to: STDOUT_FILENO)
                quarry_rl_abandon_line()
                rl_callback_handler_remove()
                return .interrupted
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                rl_callback_read_char()
                if let result = mailbox.take() { return result }
            }
        }
    }
}

/// Where readline's C callbacks find their Swift counterparts (C function pointers
/// cannot capture context). Only the editor queue touches the line; the completer is
/// set once before any prompt.
final class LineEditorMailbox: @unchecked Sendable {
    static let shared = LineEditorMailbox()
    let completer = Mutex<Completer?>(nil)
    private var result: LineInput?

    func reset() { result = nil }

    func deliver(_ line: String?) {
        if let line {
            result = .line(line)
        } else {
            TerminalOutput.write("\n", to: STDOUT_FILENO)
            result = .endOfInput
        }
    }

    func take() -> LineInput? {
        defer { result = nil }
        return result
    }

    /// readline's attempted-completion hook: the candidates for the word `text`
    /// (`start..<end` in the line), as the malloc'd, NULL-terminated array readline frees.
    static func complete(text: UnsafePointer<CChar>?, start: Int32, end: Int32)
        -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    {
        guard let completer = shared.completer.withLock({ $0 }), let linePointer = quarry_rl_line_buffer() else {
            return nil
        }
        let lineBytes = Array(
            UnsafeBufferPointer(
                start: UnsafeRawPointer(linePointer).assumingMemoryBound(to: UInt8.self),
                count: strlen(linePointer)))
        let startIndex = min(max(Int(start), 0), lineBytes.count)
        let endIndex = min(max(Int(end), startIndex), lineBytes.count)
        let before = String(decoding: lineBytes[..<startIndex], as: UTF8.self)
        let word = String(decoding: lineBytes[startIndex..<endIndex], as: UTF8.self)
        let answer = completer.complete(word: word, before: before)
        let append = answer.appendCharacter?.asciiValue.map(Int32.init) ?? (answer.appendSpace ? 32 : 0)
        quarry_rl_completion_options(answer.useFilenames ? 0 : 1, append)
        guard !answer.candidates.isEmpty else { return nil }
        let substitution =
            answer.candidates.count == 1
            ? answer.candidates[0] : Completer.commonPrefix(answer.candidates)
        let list = answer.candidates.count == 1 ? [substitution] : [substitution] + answer.candidates
        guard
            let array = malloc((list.count + 1) * MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)?
                .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: list.count + 1)
        else { return nil }
        for (i, item) in list.enumerated() { array[i] = strdup(item) }
        array[list.count] = nil
        return array
    }
}

/// A self-pipe: the SIGINT handler writes one byte, the prompt loop polls the read end.
final class WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw REPLError("cannot create the interrupt pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Wakes the poller (never blocks: the pipe is non-blocking and one byte is enough).
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Discards pending wake-ups.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }
}

/// A REPL failure with a message for the user.
struct REPLError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
