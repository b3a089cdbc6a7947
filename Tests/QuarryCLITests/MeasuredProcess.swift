import Foundation

/// Runs the `quarry` binary and reports how it ended and its peak resident memory,
/// read from the kernel for that one child (`wait4`'s rusage), so tests can prove a
/// script's memory stays bounded in the whole process, not only in the Lua state.
enum MeasuredProcess {
    struct Result {
        /// The exit code, or nil when a signal ended the process.
        var exitCode: Int32?
        /// The signal that ended it, if one did.
        var signal: Int32?
        var stdout: String
        var stderr: String
        /// Peak resident set size in bytes.
        var peakRSS: Int
        /// Whether the watchdog had to kill it.
        var timedOut = false
    }

    /// Runs the binary; a process still running after `killAfter` is killed (SIGKILL)
    /// and reported as `timedOut`.
    static func run(
        _ arguments: [String], environment: [String: String], executable name: String = "quarry",
        stdinFile: String = "/dev/null", interruptAfter: Duration? = nil,
        killAfter: Duration = .seconds(300)
    ) throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-measured-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outPath = dir.appendingPathComponent("out").path
        let errPath = dir.appendingPathComponent("err").path
        let path = QuarryProcess.executable(name).path

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinFile, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var usage = rusage()
        let started = ContinuousClock.now
        let giveUp = started + killAfter
        var timedOut = false
        var interrupted = false
        while true {
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw POSIXError(.ECHILD) }
            if let interruptAfter, !interrupted, ContinuousClock.now > started + interruptAfter {
                kill(pid, SIGINT)  // as Ctrl-C would
                interrupted = true
            }
            if !timedOut && ContinuousClock.now > giveUp {
                kill(pid, SIGKILL)
                timedOut = true
            }
            usleep(20_000)
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = FileManager.default.contents(atPath: errPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let signalled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        return Result(
            exitCode: signalled ? nil : (status >> 8) & 0xff,
            signal: signalled ? status & 0x7f : nil,
            stdout: out, stderr: err, peakRSS: Int(usage.ru_maxrss) * 1024, timedOut: timedOut)
    }
}
