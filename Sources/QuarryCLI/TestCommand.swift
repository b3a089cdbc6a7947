import ArgumentParser
import BedrockRuntime
import Foundation
import Quarry
import Synchronization

/// `quarry test [PATH…]`: runs Lua test files (`*_test.lua` under each directory, or the
/// files given), each in a fresh host with `test`/`expect`, `fault`, `emulator`,
/// `metrics` and `resilience`. Exit codes: 0 all passed, 1 any failure or no test run, 2 usage.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run Lua test files (*_test.lua): resilience suites, workflow tests.",
        discussion: """
            Faults injected with fault.inject{…} act in this process's Bedrock clients (any target); \
            emulator.fault{…} needs the emulator. Rules are cleared after every test. \
            The last line of output is `N passed, N failed` (`, N skipped`).
            """)

    @Argument(help: "Test files or directories (default: the current directory).")
    var paths: [String] = []
    @Option(help: "Output format: summary, tap or junit.")
    var format: String = "summary"
    @Option(help: "Write the report (summary, tap or junit) to this file; standard output gets the summary line.")
    var output: String?
    @Option(help: "Write a self-contained HTML report (timelines of attempts) to this file.")
    var report: String?
    @Option(help: "Seconds a test may run unless it sets {timeout = …} (default 30).")
    var timeout: Double = 30
    @Option(help: "Run only tests whose full name contains this text.")
    var filter: String?
    @OptionGroup var host: HostOptions

    func validate() throws {
        guard TestOutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be summary, tap or junit, got '\(format)'")
        }
        guard timeout.isFinite, timeout > 0, timeout <= ScriptNumber.maxSeconds else {
            throw ValidationError("--timeout must be a number of seconds > 0 and ≤ \(Int(ScriptNumber.maxSeconds))")
        }
    }

    func run() async throws {
        try host.checkAudit()
        // A file the run could not write is refused now, not after minutes of tests.
        for (flag, path) in [("--output", output), ("--report", report)] {
            guard let path else { continue }
            if let problem = Self.unwritable(path) {
                Terminal.standardError("quarry test: \(flag) \(TerminalText.escaped(path)): \(problem)\n")
                throw ExitCode(2)
            }
        }
        let format = TestOutputFormat(rawValue: format) ?? .summary
        let files: [String]
        do {
            files = try TestDiscovery.files(in: paths)
        } catch let error as TestDiscoveryError where error.foundNoTests {
            // Nothing to run is a failed run, as in other runners: CI must not pass on it.
            Terminal.standardError("quarry test: \(error.message): no test ran\n")
            throw ExitCode(1)
        } catch {
            Terminal.standardError("quarry test: \(error)\n")
            throw ExitCode(2)
        }
        let injector = ClientFaultInjector()
        let target: QuarryTarget
        do {
            target = try await host.resolveTarget(middlewares: [injector])
        } catch {
            Terminal.standardError("quarry test: \(TerminalText.escaped(ScriptRunner.describe(error)))\n")
            throw ExitCode(2)
        }
        var policy = host.policy
        // The per-test timeout governs wall-clock time; the sandbox's own limit is a backstop.
        if host.maxSeconds == nil { policy.limits.seconds = max(timeout, 600) }
        let progress = ProgressPrinter(format: format, interactive: isatty(STDOUT_FILENO) == 1)
        // A test's own output first clears the progress line it would otherwise follow.
        let scriptOutput: @Sendable (String) -> Void = { text in
            progress.clearProgressLine()
            Terminal.standardError(text)
        }
        var runnerOptions = TestRunner.Options(
            policy: policy, defaultTimeout: ScriptNumber.hostDuration(seconds: timeout) ?? .seconds(30),
            filter: filter, scriptOutput: scriptOutput, scriptErrorOutput: scriptOutput)
        runnerOptions.audit = host.audit
        let runner = TestRunner(target: target, injector: injector, options: runnerOptions)
        let summary = await runner.run(files: files, events: progress.handle)
        await target.shutdown()

        switch format {
        case .summary:
            let footer = SummaryFormatter().footer(for: summary)
            Terminal.standardOutput(footer)
            if let output {
                let document = SummaryFormatter().document(for: summary)
                do {
                    try PrivateFile.replace(output, contents: Array(document.utf8))
                } catch {
                    Terminal.standardError("quarry test: cannot write \(TerminalText.escaped(output)): \(error)\n")
                    throw ExitCode(2)
                }
            }
        case .tap, .junit:
            var document =
                format == .tap ? TAPFormatter().document(for: summary) : JUnitFormatter().document(for: summary)
            if format == .tap { document = TerminalText.escaped(document) }
            if let output {
                do {
                    try PrivateFile.replace(output, contents: Array(document.utf8))
                } catch {
                    Terminal.standardError("quarry test: \(error)\n")
                    throw ExitCode(2)
                }
                Terminal.standardOutput(summary.summaryLine + "\n")
            } else {
                Terminal.standardOutput(document)
                if format == .junit { Terminal.standardError(summary.summaryLine + "\n") }
            }
        }
        if let report {
            do {
                try HTMLReport(summary: summary).write(to: report)
                Terminal.standardError("quarry test: report written to \(report)\n")
            } catch {
                Terminal.standardError("quarry test: cannot write the report \(report): \(error)\n")
                throw ExitCode(2)
            }
        }
        if !summary.succeeded { throw ExitCode(1) }
        if summary.results.isEmpty {
            let why =
                filter.map { "--filter '\(TerminalText.escaped($0))' matched no test" } ?? "the files define no test"
            Terminal.standardError("quarry test: \(why): no test ran\n")
            throw ExitCode(1)
        }
    }
}

/// Prints per-test lines as tests finish (summary format) and, on a terminal, a
/// progress line that each result overwrites.
final class ProgressPrinter: Sendable {
    let format: TestOutputFormat
    let interactive: Bool
    /// Whether a progress line (no newline yet) is on the screen.
    private let progressShown = Mutex(false)

    init(format: TestOutputFormat, interactive: Bool) {
        self.format = format
        self.interactive = interactive
    }

    @Sendable func handle(_ event: TestRunner.Event) {
        guard format == .summary else { return }
        let clear = interactive ? "\r\u{1B}[K" : ""
        if case .testStarted = event {} else { progressShown.withLock { $0 = false } }
        switch event {
        case .fileStarted(let file):
            Terminal.standardOutput("\(clear)\(file)\n")
        case .testStarted(_, let name, let index, let total):
            if interactive {
                progressShown.withLock { shown in
                    Terminal.standardOutput("\(clear)  [\(index)/\(total)] \(TerminalText.escaped(name)) …")
                    shown = true
                }
            }
        case .testFinished(let result):
            Terminal.standardOutput(clear + SummaryFormatter().line(for: result) + "\n")
        case .fileFailed(_, let message):
            Terminal.standardOutput("\(clear)  ✗ the file did not load: \(TerminalText.escaped(message))\n")
        }
    }

    /// Clears the progress line, if one is showing, so text written next starts at the
    /// beginning of an empty line.
    @Sendable func clearProgressLine() {
        progressShown.withLock { shown in
            guard shown else { return }
            Terminal.standardOutput("\r\u{1B}[K")
            shown = false
        }
    }
}

extension TestCommand {
    /// Why `path` cannot be written (its folder is missing or not writable, or it is a
    /// folder or a read-only file), or nil when it can.
    static func unwritable(_ path: String) -> String? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return "is a directory" }
            if !fm.isWritableFile(atPath: path) { return "is not writable" }
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        guard fm.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            return "the folder \(TerminalText.escaped(dir)) does not exist"
        }
        if !fm.isWritableFile(atPath: dir) { return "the folder \(TerminalText.escaped(dir)) is not writable" }
        return nil
    }
}
