import BedrockRuntime
import Foundation

/// How one test ended.
public enum TestStatus: String, Sendable, Hashable {
    /// Every expectation held.
    case passed
    /// An expectation failed, the test raised an error, hit a limit or timed out.
    case failed
    /// Registered with `skip(name, fn)` or stopped with `skip(reason)`.
    case skipped
}

/// One Bedrock call a test made, as the report draws it: the host's own record.
public typealias TestCallTrace = CallRecord

extension CallRecord {
    /// Attempts after the first.
    public var retries: Int { max(0, attempts.count - 1) }

    /// When each attempt started. The attempts and waits are laid out backwards from the
    /// call's end, since the time before the first attempt (making the client, waiting
    /// for a concurrency slot) is not part of any attempt.
    public var attemptStarts: [Date] {
        let busy = attempts.reduce(0.0) {
            $0 + $1.duration.reportMilliseconds + ($1.waitBeforeNext?.reportMilliseconds ?? 0)
        }
        var at = started.addingTimeInterval(max(0, duration.reportMilliseconds - busy) / 1000)
        return attempts.map { attempt in
            defer {
                at += (attempt.duration.reportMilliseconds + (attempt.waitBeforeNext?.reportMilliseconds ?? 0)) / 1000
            }
            return at
        }
    }
}

/// The result of one test.
public struct TestCaseResult: Sendable, Hashable {
    /// The file the test is in, as given or found.
    public var file: String
    /// The test's full name (`describe › test`).
    public var name: String
    /// How it ended.
    public var status: TestStatus
    /// Why it failed (or the skip reason).
    public var message: String?
    /// The error code when it failed with a Quarry error table.
    public var errorCode: String?
    /// When it started.
    public var started: Date
    /// Wall-clock time of the test, hooks included.
    public var duration: Duration
    /// The Bedrock calls it made.
    public var calls: [TestCallTrace]
    /// Client-side faults injected while it ran.
    public var injections: [FaultInjection]
    /// True when a failed test failed by an error, a limit or its timeout rather than an
    /// expectation (JUnit `<error>` rather than `<failure>`).
    public var failedByError: Bool = false
    /// What the test's script wrote while it ran (JUnit `<system-out>`).
    public var output: String = ""

    /// A result from its parts.
    public init(
        file: String, name: String, status: TestStatus, message: String? = nil, errorCode: String? = nil,
        started: Date = Date(), duration: Duration = .zero, calls: [TestCallTrace] = [],
        injections: [FaultInjection] = []
    ) {
        self.file = file; self.name = name; self.status = status; self.message = message; self.errorCode = errorCode
        self.started = started; self.duration = duration; self.calls = calls; self.injections = injections
    }
}

/// All the results of a `quarry test` run.
public struct TestRunSummary: Sendable {
    /// Results in the order the tests ran.
    public var results: [TestCaseResult]
    /// Problems that stopped a whole file (syntax errors, errors at load time).
    public var fileErrors: [(file: String, message: String)]
    /// Wall-clock time of the run.
    public var duration: Duration
    /// What the tests ran against (`emulator at http://127.0.0.1:PORT`).
    public var target: String

    /// A summary from its parts.
    public init(
        results: [TestCaseResult], fileErrors: [(file: String, message: String)] = [], duration: Duration,
        target: String
    ) {
        self.results = results; self.fileErrors = fileErrors; self.duration = duration; self.target = target
    }

    /// Tests that passed.
    public var passed: Int { results.count { $0.status == .passed } }
    /// Tests that failed, plus files that could not be loaded.
    public var failed: Int { results.count { $0.status == .failed } + fileErrors.count }
    /// Tests that were skipped.
    public var skipped: Int { results.count { $0.status == .skipped } }
    /// Whether anything failed (the exit code is 1 then).
    public var succeeded: Bool { failed == 0 }

    /// `N passed, N failed` (`, N skipped` when any were): the last line of every format.
    public var summaryLine: String {
        "\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : "")
    }
}

extension Duration {
    /// Milliseconds as a Double.
    var reportMilliseconds: Double {
        let c = components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }

    /// `12 ms` or `1.25 s`.
    var reportText: String {
        let ms = reportMilliseconds
        return ms < 1000 ? "\(Int(ms.rounded())) ms" : String(format: "%.2f s", ms / 1000)
    }
}
