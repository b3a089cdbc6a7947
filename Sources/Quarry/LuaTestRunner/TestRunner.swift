import BedrockRuntime
import Foundation
import Logging
import Synchronization

/// The test framework's Lua API (`test`, `describe`, `before_each`, `after_each`, `skip`,
/// `expect`) as a module, for hosts that run test files.
public struct TestFrameworkModule: QuarryModule {
    /// The module.
    public init() {}

    /// Loads the test framework into `host`.
    public func install(into host: QuarryHost) async throws {
        _ = try await Self.load(into: host)
    }

    /// Loads the framework and returns the runner's `list` and `run` functions, held by
    /// the host only (registry references no script can reach).
    static func load(into host: QuarryHost) async throws -> (list: LuaValue, run: LuaValue) {
        let functions = try await host.loadKeepingFunctions(TestPrelude.source, name: TestPrelude.chunkName)
        guard functions.count == 2, case .function = functions[0], case .function = functions[1] else {
            throw ScriptError(code: .internalError, message: "the test framework did not load")
        }
        return (functions[0], functions[1])
    }
}

/// Runs Lua test files: each file in a fresh host with the test framework, `fault`,
/// `emulator`, `metrics` and `resilience` installed; each test timed, cut off at its
/// timeout, and followed by a clean-up of injected faults (client and emulator side)
/// so no rule leaks into the next test.
public struct TestRunner: Sendable {
    /// How tests run.
    public struct Options: Sendable {
        /// The policy of every host (its sandbox limits apply to each test).
        public var policy: HostPolicy
        /// A test's time limit unless it sets `{timeout = …}`.
        public var defaultTimeout: Duration
        /// Only tests whose full name contains this text run (the others are not reported).
        public var filter: String?
        /// Where scripts' `print` goes.
        public var scriptOutput: @Sendable (String) -> Void
        /// Where scripts' `io.stderr` and logs go.
        public var scriptErrorOutput: @Sendable (String) -> Void
        /// The host logger.
        public var logger: Logger
        /// The audit log every test file's host appends to; nil for none.
        public var audit: AuditLog? = nil

        /// Options; script output goes to standard error by default, so reports on
        /// standard output stay clean.
        public init(
            policy: HostPolicy = .permissive, defaultTimeout: Duration = .seconds(30), filter: String? = nil,
            scriptOutput: @escaping @Sendable (String) -> Void = { StandardStream.error.write($0) },
            scriptErrorOutput: @escaping @Sendable (String) -> Void = { StandardStream.error.write($0) },
            logger: Logger = Logger(label: "quarry.test")
        ) {
            self.policy = policy; self.defaultTimeout = defaultTimeout; self.filter = filter
            self.scriptOutput = scriptOutput; self.scriptErrorOutput = scriptErrorOutput; self.logger = logger
        }
    }

    /// What the runner reports while it works.
    public enum Event: Sendable {
        /// A file is about to load.
        case fileStarted(String)
        /// A test is about to run (`index` of `total` in this file).
        case testStarted(file: String, name: String, index: Int, total: Int)
        /// A test finished.
        case testFinished(TestCaseResult)
        /// A file could not be loaded.
        case fileFailed(file: String, message: String)
    }

    /// Where calls go; its middlewares must include `injector`.
    public let target: QuarryTarget
    /// The client fault injector behind `fault.inject`.
    public let injector: ClientFaultInjector
    /// How tests run.
    public let options: Options

    /// A runner for `target`; `injector` must be one of the target's middlewares (so
    /// `fault.inject` reaches every client the hosts make).
    public init(target: QuarryTarget, injector: ClientFaultInjector, options: Options = Options()) {
        self.target = target
        self.injector = injector
        self.options = options
    }

    /// Runs `files` in order and returns every result.
    public func run(files: [String], events: @escaping @Sendable (Event) -> Void = { _ in }) async -> TestRunSummary {
        let clock = ContinuousClock.now
        var results: [TestCaseResult] = []
        var fileErrors: [(file: String, message: String)] = []
        for file in files {
            if Task.isCancelled { break }
            events(.fileStarted(file))
            let (fileResults, failure) = await run(file: file, events: events)
            results += fileResults
            if let failure {
                fileErrors.append((file, failure))
                events(.fileFailed(file: file, message: failure))
            }
        }
        return TestRunSummary(
            results: results, fileErrors: fileErrors, duration: ContinuousClock.now - clock,
            target: target.description)
    }

    /// Runs one file in a fresh host.
    func run(file: String, events: @escaping @Sendable (Event) -> Void) async -> ([TestCaseResult], String?) {
        let metrics = CallMetrics()
        let captured = CapturedOutput()
        let host: QuarryHost
        let control: (list: LuaValue, run: LuaValue)
        do {
            var hostOptions = QuarryHost.Options(
                policy: options.policy, output: captured.forwarding(to: options.scriptOutput),
                errorOutput: captured.forwarding(to: options.scriptErrorOutput), logger: options.logger)
            hostOptions.audit = options.audit
            // The file's globals (helpers its tests call) live across the runs of its tests.
            hostOptions.isolation = .session
            host = try await QuarryHost(target: target, options: hostOptions)
            control = try await TestFrameworkModule.load(into: host)
            for module: any QuarryModule in [
                FaultModule(injector: injector), EmulatorModule(),
                MetricsModule(metrics: metrics), ResilienceModule(),
            ] {
                try await host.install(module)
            }
        } catch {
            return ([], "could not start a host: \(error)")
        }
        await cleanUpRules()
        do {
            _ = try await host.run(file: file, arguments: [])
        } catch {
            await host.shutdown()
            return ([], Self.describe(error))
        }
        let listed: [LuaValue]
        do {
            let value = try await host.evaluate(
                "local list = ... return list()", name: "=[quarry test list]",
                arguments: [control.list]
            ).first
            guard case .array(let items)? = value else {
                if case .map(let m)? = value, m.isEmpty { await host.shutdown(); return ([], nil) }
                await host.shutdown()
                return ([], "the test list could not be read")
            }
            listed = items
        } catch {
            await host.shutdown()
            return ([], Self.describe(error))
        }
        var results: [TestCaseResult] = []
        for (offset, item) in listed.enumerated() {
            guard case .string(let name)? = item["name"] else { continue }
            if let filter = options.filter, !filter.isEmpty, !name.contains(filter) { continue }
            events(.testStarted(file: file, name: name, index: offset + 1, total: listed.count))
            var timeout = options.defaultTimeout
            if let asked = item["timeout"], asked != .nil {
                do throws(ScriptError) {
                    timeout = try ScriptNumber.duration(
                        asked, function: "test(\"\(name)\")", field: "timeout", positive: true)
                } catch {
                    var result = TestCaseResult(file: file, name: name, status: .failed)
                    result.message = error.message
                    result.errorCode = error.code.rawValue
                    result.failedByError = true
                    results.append(result)
                    events(.testFinished(result))
                    continue
                }
            }
            captured.reset()
            var result = await runTest(
                number: offset + 1, name: name, file: file, timeout: timeout, host: host,
                runner: control.run, metrics: metrics)
            result.output = captured.reset()
            results.append(result)
            events(.testFinished(result))
        }
        await host.shutdown()
        return (results, nil)
    }

    private func runTest(
        number: Int, name: String, file: String, timeout: Duration, host: QuarryHost,
        runner: LuaValue, metrics: CallMetrics
    ) async -> TestCaseResult {
        metrics.reset()
        injector.clearInjections()
        let started = Date()
        let clock = ContinuousClock.now
        let outcome = await Self.evaluate(host: host, runner: runner, number: number, timeout: timeout)
        let duration = ContinuousClock.now - clock
        await cleanUpRules()
        let calls = metrics.recorded
        let injections = (injector.injections + (await emulatorInjections(for: calls))).sorted { $0.date < $1.date }
        var result = TestCaseResult(
            file: file, name: name, status: .failed, started: started, duration: duration,
            calls: calls, injections: injections)
        switch outcome {
        case .value(let value):
            switch value["status"] {
            case .string("passed")?: result.status = .passed
            case .string("skipped")?:
                result.status = .skipped
                result.message = value["reason"]?.stringValue
            default:
                result.message = value["message"]?.stringValue ?? "failed"
                result.errorCode = value["code"]?.stringValue
                result.failedByError = value["expectation"] != .boolean(true)
            }
        case .timedOut:
            result.message = "timed out after \(timeout.reportText) (the test was cancelled)"
            result.errorCode = ScriptError.Code.timeout.rawValue
            result.failedByError = true
        case .failed(let message):
            result.message = message
            result.failedByError = true
        }
        return result
    }

    enum Outcome: Sendable {
        case value(LuaValue)
        case timedOut
        case failed(String)
    }

    /// Runs test `number`, cancelling the host when it outlives `timeout`.
    static func evaluate(host: QuarryHost, runner: LuaValue, number: Int, timeout: Duration) async -> Outcome {
        let started = ContinuousClock.now
        let timer = Task {
            try await Task.sleep(for: timeout)
            host.cancel()
        }
        defer { timer.cancel() }
        do {
            let values = try await host.evaluate(
                "local run, n = ... return run(n)", name: "=[quarry test run]",
                arguments: [runner, .integer(Int64(number))])
            return .value(values.first ?? .nil)
        } catch {
            var interrupted = error is CancellationError
            if case LuaError.limit(.interrupted, _) = error { interrupted = true }
            if interrupted, ContinuousClock.now - started >= timeout { return .timedOut }
            return .failed(describe(error))
        }
    }

    /// Faults the emulator applied to this test's calls (from its request log, matched to
    /// the attempts by request id), marked like the client's injections with the rule id
    /// `emulator`, so reports show faults from both sides at the attempt they hit.
    func emulatorInjections(for calls: [TestCallTrace]) async -> [FaultInjection] {
        var attemptStarts: [String: Date] = [:]
        for call in calls {
            for (attempt, start) in zip(call.attempts, call.attemptStarts) {
                if let id = attempt.requestId { attemptStarts[id] = start }
            }
        }
        guard !attemptStarts.isEmpty, let admin = target.emulatorAdmin else { return [] }
        let requests: [JSONValue]
        do {
            requests = try await EmulatorAdminClient(admin).get("requests")["requests"]?.arrayValue ?? []
        } catch {
            options.logger.warning("the emulator's request log could not be read: \(ScriptError.from(error).message)")
            return []
        }
        return requests.compactMap { request -> FaultInjection? in
            guard let fault = request["fault"]?.stringValue, let id = request["request_id"]?.stringValue,
                let when = attemptStarts[id]
            else { return nil }
            let effect = request["error"]?.stringValue.map { "\(fault) \($0)" } ?? fault
            return FaultInjection(
                ruleId: "emulator", operation: request["operation"]?.stringValue ?? "?",
                model: request["model"]?.stringValue, region: request["region"]?.stringValue,
                effect: effect, date: when)
        }
    }

    /// Removes client rules, and the emulator's fault rules and scripted replies when the
    /// target is one: what one test set up never answers the next one.
    func cleanUpRules() async {
        injector.clear()
        guard let admin = target.emulatorAdmin else { return }
        for (path, what) in [("faults", "fault rules"), ("responses", "scripted replies")] {
            do {
                _ = try await EmulatorAdminClient(admin).delete(path)
            } catch {
                options.logger.warning(
                    "the emulator's \(what) could not be cleared: \(ScriptError.from(error).message)")
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as LuaError:
            if case .limit(let kind, let message) = e {
                // Each limit has one wording (`sandbox limit: memory cap of N bytes reached (…)`),
                // the same as `quarry run` prints: not said twice.
                return message.hasPrefix("sandbox limit:") ? message : "sandbox limit (\(kind.rawValue)): \(message)"
            }
            return e.description
        case let e as ScriptError: return e.description
        default: return String(describing: error)
        }
    }
}

/// What one file's scripts wrote (`print`, `write`, `stderr`, logs) since the last
/// `reset`, kept for the report of the test that wrote it while still passed on.
final class CapturedOutput: Sendable {
    private let text = Mutex("")

    /// A writer that keeps a copy of everything and passes it on to `next`.
    func forwarding(to next: @escaping @Sendable (String) -> Void) -> @Sendable (String) -> Void {
        { [self] chunk in
            text.withLock { $0 += chunk }
            next(chunk)
        }
    }

    /// The text written since the last reset; starts afresh.
    @discardableResult
    func reset() -> String {
        text.withLock { current in
            defer { current = "" }
            return current
        }
    }
}
