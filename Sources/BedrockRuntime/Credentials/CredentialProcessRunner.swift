import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a `credential_process` command safely and returns its standard output.
///
/// - Spawned with `posix_spawn` through `/bin/sh -c`, in its own process group
///   (`POSIX_SPAWN_SETPGROUP`), with an empty signal mask and SIGTERM, SIGINT, SIGHUP
///   and SIGPIPE at their default actions, stdin and stderr on `/dev/null`.
/// - Output is read on a dedicated thread (never Swift's cooperative pool) with
///   `poll`, at most `maxOutputBytes`.
/// - Done when the command has exited (as botocore waits for the process, not for
///   end-of-file: a background child still holding stdout does not keep us waiting);
///   at the timeout, the size cap or cancellation, the whole group gets SIGKILL.
struct CredentialProcessRunner: Sendable {
    enum Failure: Error, Equatable {
        case cannotStart(String)
        case timedOut
        case outputTooLarge
        case exited(status: Int32)
        case signalled(Int32)
        case cancelled
    }

    let command: String
    let timeout: Duration
    let maxOutputBytes: Int

    /// Runs the command; the output when it exited with status 0.
    func run() async throws(Failure) -> [UInt8] {
        let job = Job(command: command, timeout: timeout, maxOutputBytes: maxOutputBytes)
        let result: Result<[UInt8], Failure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: job.execute()) }
                thread.name = "quarry.credential_process"
                thread.start()
            }
        } onCancel: {
            job.cancel()
        }
        return try result.get()
    }

    /// One run: the state the reading thread and a canceller share.
    final class Job: @unchecked Sendable {
        let command: String
        let timeout: Duration
        let maxOutputBytes: Int
        private let lock = Mutex(())
        private var cancelled = false

        init(command: String, timeout: Duration, maxOutputBytes: Int) {
            self.command = command
            self.timeout = timeout
            self.maxOutputBytes = maxOutputBytes
        }

        func cancel() { lock.withLock { _ in cancelled = true } }
        private var isCancelled: Bool { lock.withLock { _ in cancelled } }

        /// Spawns, reads and reaps; runs on its own thread (it blocks in `poll`).
        func execute() -> Result<[UInt8], Failure> {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { return .failure(.cannotStart("pipe: \(String(cString: strerror(errno)))")) }
            let (readEnd, writeEnd) = (fds[0], fds[1])
            _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)

            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addclose(&actions, writeEnd)

            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var emptyMask = sigset_t()
            sigemptyset(&emptyMask)
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
            posix_spawnattr_setsigmask(&attributes, &emptyMask)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setpgroup(&attributes, 0)  // a new group led by the child
            posix_spawnattr_setflags(
                &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
            defer { for arg in argv { free(arg) } }
            let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
            close(writeEnd)
            guard spawned == 0 else {
                close(readEnd)
                return .failure(.cannotStart(String(cString: strerror(spawned))))
            }
            defer { close(readEnd) }
            // Until it is reaped, the group dies with this process too (a refresh still
            // running when the script's deadline ends the process must not outlive it).
            LiveProcessGroups.add(pid)
            defer { LiveProcessGroups.remove(pid) }
            _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)

            let deadline = ContinuousClock.now + timeout
            var output: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            var pipeOpen = true
            var exitStatus: Int32?

            /// Kills the whole group (background children included) and reaps the child.
            func killGroup(_ failure: Failure) -> Result<[UInt8], Failure> {
                kill(-pid, SIGKILL)
                if exitStatus == nil { var s: Int32 = 0; while waitpid(pid, &s, 0) == -1 && errno == EINTR {} }
                return .failure(failure)
            }
            /// Reads what is there now; false when the output passed the cap.
            func drain() -> Bool {
                while pipeOpen {
                    let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        guard n <= maxOutputBytes - output.count else { return false }
                        output.append(contentsOf: chunk[0..<n])
                    } else if n == 0 {
                        pipeOpen = false
                    } else if errno == EINTR {
                        continue
                    } else {
                        break  // EAGAIN: nothing more for now
                    }
                }
                return true
            }

            while true {
                if isCancelled { return killGroup(.cancelled) }
                if exitStatus == nil {
                    var status: Int32 = 0
                    if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
                }
                guard drain() else { return killGroup(.outputTooLarge) }
                if let status = exitStatus {
                    // Exited: what it wrote is in the pipe (drained above); a background
                    // child still holding stdout does not keep us waiting.
                    if (status & 0x7f) == 0 {
                        let code = (status >> 8) & 0xff
                        return code == 0 ? .success(output) : .failure(.exited(status: code))
                    }
                    return .failure(.signalled(status & 0x7f))
                }
                let now = ContinuousClock.now
                if now >= deadline { return killGroup(.timedOut) }
                // Wake for output, or at least every 20 ms to notice the exit and cancellation.
                let left = deadline - now
                let waitMs = Int32(
                    min(
                        20, max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
                    ))
                if pipeOpen {
                    var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&pfd, 1, waitMs)
                } else {
                    usleep(UInt32(waitMs) * 1000)
                }
            }
        }
    }
}

/// The process groups of `credential_process` helpers still running, killed when this
/// process exits (`exit`, as `quarry` does at a deadline, Ctrl-C or the end of a run).
enum LiveProcessGroups {
    private static let lock = Mutex(())
    nonisolated(unsafe) private static var groups: Set<pid_t> = []
    private static let killAtExit: Void = { atexit { LiveProcessGroups.killAll() } }()

    static func add(_ pid: pid_t) {
        _ = killAtExit
        lock.withLock { _ in _ = groups.insert(pid) }
    }

    static func remove(_ pid: pid_t) {
        lock.withLock { _ in _ = groups.remove(pid) }
    }

    /// Sends SIGKILL to every group still registered.
    static func killAll() {
        for group in lock.withLock({ _ in groups }) { kill(-group, SIGKILL) }
    }

    /// The groups registered now (for tests).
    static var current: Set<pid_t> { lock.withLock { _ in groups } }
}
