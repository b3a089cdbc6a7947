import Foundation
import Logging
import Synchronization

/// A sandboxed Lua state with the Bedrock API, a scheduler and a policy: what a script
/// (or a REPL session) runs in.
///
/// Scripts read like plain sequential Lua; every Bedrock call (and every async Swift
/// function registered here) yields to Swift, which awaits it and resumes the script, so
/// `parallel` and `map` run many calls at once on one Lua thread. Scripts hold only
/// opaque handles: the clients and their credentials stay in Swift.
///
/// ```swift
/// let target = try await QuarryTarget.resolve(localEmulator: .inProcess)   // QuarryEmulatorSupport
/// let host = try await QuarryHost(target: target)
/// try await host.register("weather") { args in [.string("sunny in \(args.first?.stringValue ?? "?")")] }
/// let values = try await host.evaluate("return bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi'}.text")
/// ```
public final class QuarryHost: Sendable {
    /// What one run of a script leaves for the next on the same host.
    public enum Isolation: Sendable, Hashable {
        /// Every `evaluate`/`run` starts from the host's pristine environment: the
        /// standard library, the host tables (`bedrock`, `json`, …) and what the app set
        /// up (`register`, `setGlobal`, `load(module:)`, modules) are restored after each
        /// run, and the run's own globals are gone. Streams a run leaves open are closed
        /// when it ends. A script cannot replace `print` or `bedrock` for a later one.
        /// Every table reachable from the globals is restored, nested ones included; the
        /// upvalues of a module's functions cannot be (keep state that must not carry
        /// over in Swift, or `freezeGlobal` the module).
        case perRun
        /// Globals live from run to run (a REPL, an app's own multi-step session); streams
        /// a run leaves open stay usable by the next run.
        case session
    }

    /// How a host behaves: its policy, where output goes, its logger, a default model.
    public struct Options: Sendable {
        /// What scripts may do (models, regions, budgets, sandbox limits).
        public var policy: HostPolicy
        /// Receives what scripts `print` (and `write`).
        public var output: @Sendable (String) -> Void
        /// Receives what scripts write with `stderr.write` (progress bars, diagnostics).
        public var errorOutput: @Sendable (String) -> Void
        /// Where `stdin.read`/`stdin.lines` read lines from (the CLI: standard input); nil when
        /// scripts get no input. Returns a line with its newline, or nil at the end.
        public var input: (@Sendable () async -> String?)?
        /// When set, receives the exact bytes scripts `print` and `write` instead of
        /// `output` (Lua strings are bytes: an image or invalid UTF-8 passes unchanged).
        public var outputBytes: (@Sendable ([UInt8]) -> Void)? = nil
        /// When set, receives the exact bytes of `stderr.write` instead of `errorOutput`.
        public var errorOutputBytes: (@Sendable ([UInt8]) -> Void)? = nil
        /// When set, `stdin.read`/`stdin.lines` read the exact bytes from here instead of
        /// `input`: a line with its newline, or nil at the end. A long line may come in
        /// pieces: a piece without a newline continues in the next one.
        public var inputBytes: (@Sendable () async -> [UInt8]?)? = nil
        /// Why scripts get no input when neither `input` nor `inputBytes` is set, for the
        /// message of `stdin.read`'s `NoInput` error (the CLI: the script itself came
        /// from standard input). Nil says "this host gives scripts no input".
        public var noInputReason: String? = nil
        /// Where `log.info/warn/error` go (redacted).
        public var logger: Logger
        /// The model for calls without `model=` (the REPL's `:use`).
        public var defaultModel: String?
        /// The audit log of every Bedrock call and policy refusal; nil for none. The host's
        /// initializer throws when the log cannot be opened, before any script runs.
        public var audit: AuditLog? = nil
        /// Whether runs start from the pristine environment (`.perRun`, the default) or
        /// keep each other's globals (`.session`, what the REPL uses).
        public var isolation: Isolation = .perRun
        /// A budget this host's calls are charged against besides the policy's: give several
        /// hosts the same ``TokenBudget`` to cap them together.
        public var budget: TokenBudget? = nil
        /// Asked before every Bedrock call a script makes (after the policy's model check,
        /// before the budgets): `.refuse(reason:)` stops the call and the script gets a
        /// `PolicyViolation` error with that reason. Runs on the Lua thread: keep it quick.
        public var willCall: (@Sendable (PendingCall) -> CallDecision)? = nil
        /// Most table elements one value crossing between Lua and the host may hold (nil:
        /// the sandbox's 100 000). A host that hands a script's whole batch of records to
        /// `bedrock.batch` at once (the `quarry batch` command) raises it; the memory cap
        /// still bounds what crosses.
        public var maxCrossingItems: Int? = nil

        /// Options with the given parts; output goes to standard output by default.
        public init(
            policy: HostPolicy = .permissive,
            output: @escaping @Sendable (String) -> Void = { StandardStream.output.write($0) },
            errorOutput: @escaping @Sendable (String) -> Void = { StandardStream.error.write($0) },
            input: (@Sendable () async -> String?)? = nil,
            logger: Logger = Logger(label: "quarry.script"), defaultModel: String? = nil,
            isolation: Isolation = .perRun
        ) {
            self.isolation = isolation
            self.input = input
            self.policy = policy
            self.output = output
            self.errorOutput = errorOutput
            self.logger = logger
            self.defaultModel = defaultModel
        }
    }

    /// The sandbox scripts run in (for completion and advanced embedding).
    public let sandbox: LuaSandbox
    /// Where Bedrock calls go.
    public let target: QuarryTarget
    /// What scripts may do.
    public let policy: HostPolicy
    /// What one run leaves for the next (see `Isolation`).
    public let isolation: Isolation
    let core: HostCore
    /// The Lua function that sets a dotted module field (see `assign`), made at set-up
    /// from the original library functions, so no script can change what it runs.
    private let assigner: LuaValue
    /// Host-held Lua functions that take, restore and amend the pristine environment.
    private let keeper: EnvironmentKeeper
    /// The dotted names of the host's own API at creation (globals, and the fields of
    /// global tables): `register`/`setGlobal` over one needs `replacing: true`.
    private let builtIns: Set<String>
    /// Set when restoring the pristine environment failed: later runs are refused.
    private let environment = EnvironmentHealth()
    private let runLock = RunLock()
    private let current = CurrentRun()

    /// Creates the Lua state, installs the API and applies the policy's limits.
    public init(target: QuarryTarget, options: Options = Options()) async throws {
        try options.policy.validate()
        self.target = target
        self.policy = options.policy
        self.isolation = options.isolation
        let errorText = options.errorOutput
        let errorOutput = options.errorOutputBytes ?? { errorText(String(decoding: $0, as: UTF8.self)) }
        let input: (@Sendable () async -> [UInt8]?)? =
            options.inputBytes
            ?? options.input.map { text in { @Sendable in await text().map { Array($0.utf8) } } }
        let core = HostCore(
            target: target, policy: options.policy, logger: options.logger,
            defaultModel: options.defaultModel, errorOutput: errorOutput,
            input: input, auditor: try options.audit.map(AuditWriter.init),
            sharedBudget: options.budget, noInputReason: options.noInputReason)
        core.setWillCall(options.willCall)
        self.core = core
        let output = options.output
        let outputBytes = options.outputBytes
        let sandbox = try await LuaSandbox(
            limits: options.policy.limits,
            byteOutput: { bytes in
                if let outputBytes { outputBytes(bytes) } else { output(String(decoding: bytes, as: UTF8.self)) }
                if let events = core.currentRun.events { events.emit(.output(String(decoding: bytes, as: UTF8.self))) }
            })
        self.sandbox = sandbox
        let limits = options.policy.limits
        let limitsTable: [String: LuaValue] = [
            "memory_bytes": .integer(Int64(limits.memoryBytes)),
            "instructions": .integer(limits.instructions),
            "seconds": .number(limits.seconds),
            "output_bytes": .integer(Int64(limits.outputBytes)),
            "host_calls": .integer(limits.hostCalls),
        ]
        try await sandbox.withState { state in
            try state.setGlobal("sandbox", .map(["limits": .map(limitsTable)]), readOnly: true)
            var functions = try HostFunctionTable.make(core: core, state: state)
            functions["null"] = .null
            functions["write"] = try state.outputWriter()
            try state.setGlobal("__quarry", .map(functions))
            _ = try Self.outsideRun(state, Self.hostLimits(options.policy.limits)) {
                try state.execute(Prelude.source, name: Prelude.chunkName)
            }
            for name in Prelude.hostTables { try state.freezeGlobal(name) }
            // Results and error values reach the app whatever their shape (holes, mixed keys).
            state.resultLimits.keepSparseTables = true
            // A script's batch of records crosses in one piece: past the element limit,
            // say how to hand the service more records.
            state.argumentErrorHint = { function, problem in
                guard function == "bedrock.batch_submit", problem.contains("table elements") else { return nil }
                return "bedrock.batch hands its records to the host in one piece: for this many records "
                    + "write them as JSONL to S3 and give input = \"s3://…\", or split them into several jobs "
                    + "(quarry batch submit --records FILE takes up to 50000)"
            }
            if let items = options.maxCrossingItems, items > 0 {
                state.argumentLimits.maxItems = items
                state.resultLimits.maxItems = items
            }
            // An argument that cannot cross is an error table like the function's own
            // (`file:line: code: message`): JSONError for json.*, else ValidationError.
            state.argumentErrorCode = {
                $0.hasPrefix("json.") ? ScriptError.Code.jsonError.rawValue : ScriptError.Code.validationError.rawValue
            }
        }
        self.builtIns = try await sandbox.withState { state in
            var names = Set<String>()
            for name in state.keys(atPath: "") where !name.hasPrefix("__") {
                names.insert(name)
                for field in state.keys(atPath: name) { names.insert(name + "." + field) }
            }
            return names
        }
        self.assigner = try await Self.makeHeld(
            sandbox, String(decoding: PackageResources.assign_lua, as: UTF8.self), name: "=[quarry assign]", count: 1)[
                0]
        let clearer = try await sandbox.withState { state in try state.metatableClearer() }
        let keeper = try await Self.makeHeld(
            sandbox, EnvironmentKeeper.source, name: "=[quarry environment]", count: 3,
            arguments: [clearer])
        self.keeper = EnvironmentKeeper(take: keeper[0], restore: keeper[1], keep: keeper[2])
        try await sandbox.withState { state in try self.setUp(state) {} }
    }

    /// The model used by calls that do not name one.
    public var defaultModel: String? {
        get { core.defaultModel }
        set { core.defaultModel = newValue }
    }

    /// Runs a chunk in the host's state as a scheduled coroutine and returns its values.
    /// Evaluations on one host run one at a time; with `Isolation.perRun` (the default)
    /// each starts from the host's pristine environment.
    ///
    /// Throws `LuaError` (syntax; runtime with the script's `file:line`; a tripped limit),
    /// or `CancellationError` after `cancel()` or when the calling task is cancelled (both
    /// interrupt running Lua at once). Called from a function the same host's script is
    /// running, it throws `ScriptError` `Reentrancy` at once instead of waiting forever.
    public func evaluate(_ source: String, name: String = "=chunk", arguments: [LuaValue] = []) async throws
        -> [LuaValue]
    {
        try await perform(Array(source.utf8), name: name, arguments: arguments, settings: RunSettings(), events: nil)
    }

    /// `evaluate(_:name:arguments:)` for a chunk given as its exact bytes: a script file
    /// whose string literals hold bytes that are not UTF-8 runs with those bytes unchanged.
    public func evaluate(
        bytes source: [UInt8], name: String = "=chunk", arguments: [LuaValue] = [],
        settings: RunSettings = RunSettings()
    ) async throws -> [LuaValue] {
        try await perform(source, name: name, arguments: arguments, settings: settings, events: nil)
    }

    /// `evaluate(_:name:arguments:)` with settings for this run alone: its limits, a
    /// budget (its own or one shared with other runs and hosts) and its id.
    public func evaluate(
        _ source: String, name: String = "=chunk", arguments: [LuaValue] = [],
        settings: RunSettings
    ) async throws -> [LuaValue] {
        try await perform(Array(source.utf8), name: name, arguments: arguments, settings: settings, events: nil)
    }

    /// Runs a chunk and decodes its first return value into `type` (a table becomes a
    /// JSON object or array, then `Decodable` reads it; `json.null` and nil are null).
    ///
    /// Every failure it throws is a ``QuarryError`` (`catch let error as QuarryError`):
    /// switch on its `code` (`SyntaxError`,
    /// `RuntimeError`, the script's own `error{code=…}`, `PolicyViolation`,
    /// `LimitExceeded`, `Cancelled`, `DecodingError` when the value does not fit `type`, …).
    public func evaluate<T: Decodable>(
        _ source: String, as type: T.Type, name: String = "=chunk",
        arguments: [LuaValue] = [], settings: RunSettings = RunSettings()
    ) async throws -> T {
        let values: [LuaValue]
        do {
            values = try await perform(
                Array(source.utf8), name: name, arguments: arguments, settings: settings, events: nil)
        } catch {
            throw QuarryError(error)
        }
        return try Self.decode(values.first ?? .nil, as: type)
    }

    /// Decodes a script's value into `type`, or throws `DecodingError` naming the path.
    static func decode<T: Decodable>(_ value: LuaValue, as type: T.Type) throws -> T {
        let json: JSONValue
        do {
            json = try LuaJSON.json(from: value, path: "result")
        } catch {
            throw QuarryError(code: .decodingError, message: error.message, value: value, underlying: error)
        }
        do {
            return try JSONValueDecoder().decode(type, from: json)
        } catch let e as DecodingError {
            throw QuarryError(
                code: .decodingError, message: QuarryError.describe(e) + " (decoding \(type))",
                value: value, underlying: e)
        } catch {
            throw QuarryError(
                code: .decodingError, message: "\(error) (decoding \(type))", value: value, underlying: error)
        }
    }

    /// Runs a chunk and delivers what happens as it happens, in order: what it prints,
    /// each Bedrock call's start, the model's text, reasoning and tool uses as they stream,
    /// status changes, each call's end (its ``CallRecord``), and last `.finished(values)`.
    /// A failure ends the sequence by throwing a ``QuarryError``.
    ///
    /// The run starts when iteration starts (runs on one host still go one at a time);
    /// dropping the iteration (a `break`, a cancelled task) cancels the run.
    ///
    /// ```swift
    /// for try await event in host.events(for: script) {
    ///     switch event {
    ///     case .text(let piece): ui.append(piece)
    ///     case .toolUse(_, let name, _): ui.status("using \(name)")
    ///     case .finished(let values): ui.done(values)
    ///     default: break
    ///     }
    /// }
    /// ```
    public func events(
        for source: String, name: String = "=chunk", arguments: [LuaValue] = [],
        settings: RunSettings = RunSettings()
    ) -> AsyncThrowingStream<RunEvent, any Error> {
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let sink = RunEventSink(continuation)
            let task = Task {
                do {
                    let values = try await self.perform(
                        Array(source.utf8), name: name, arguments: arguments, settings: settings, events: sink)
                    continuation.yield(.finished(values))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: QuarryError(error))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func perform(
        _ source: [UInt8], name: String, arguments: [LuaValue], settings: RunSettings,
        events: RunEventSink?
    ) async throws -> [LuaValue] {
        try refuseReentry()
        if core.shutDown {
            throw ScriptError(code: .hostShutDown, message: "this host was shut down; make a new QuarryHost")
        }
        await runLock.lock()
        defer { runLock.unlock() }
        if let failure = environment.failure { throw failure }
        if core.shutDown {
            throw ScriptError(code: .hostShutDown, message: "this host was shut down; make a new QuarryHost")
        }
        let inside = RunContext.hosts.union([ObjectIdentifier(self)])
        let run = RunState(id: settings.runId ?? UUID().uuidString, budget: settings.budget, events: events)
        let limits = settings.limits ?? policy.limits
        let task = Task {
            try await RunContext.$hosts.withValue(inside) {
                try await self.execute(source, name: name, arguments: arguments, limits: limits, run: run)
            }
        }
        current.set(task)
        defer { current.set(nil) }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Reads and runs a script file with `arg` set like `lua` does (`arg[0]` is the path,
    /// `...` the arguments).
    public func run(file path: String, arguments: [String] = []) async throws -> [LuaValue] {
        try await run(file: path, arguments: arguments, settings: RunSettings())
    }

    /// `run(file:arguments:)` with settings for this run alone (see ``RunSettings``).
    public func run(file path: String, arguments: [String] = [], settings: RunSettings) async throws -> [LuaValue] {
        try refuseReentry()
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScriptError(code: .fileNotFound, message: "cannot read script '\(path)'")
        }
        try await setArguments(script: path, arguments)
        return try await evaluate(
            bytes: Array(data), name: "@" + path, arguments: arguments.map(LuaValue.string), settings: settings)
    }

    /// Sets the global `arg` table: `arg[0]` is the script, `arg[1…]` its arguments.
    public func setArguments(script: String, _ arguments: [String]) async throws {
        try await sandbox.withState { state in
            try state.setGlobal("arg", arguments.isEmpty ? .map([:]) : .array(arguments.map(LuaValue.string)))
            try state.setGlobal("__quarry_script", .string(script))
            _ = try self.setUp(state) {
                try state.execute("arg[0] = __quarry_script; __quarry_script = nil", name: "=[quarry arg]")
            }
        }
    }

    /// Registers an async Swift function as a Lua global (a dotted name such as
    /// `tools.lookup` creates or extends a module table). Calling it yields the script
    /// like a Bedrock call; throw `ScriptError` to raise a structured Lua error. Any other
    /// error reaches the script as `HostError: host function failed (id …)`; its full text
    /// goes to the host's logger with the same id (see `hostFailure`).
    ///
    /// The wait is bounded by the run's deadline and by `cancel()`: a function that
    /// ignores cancellation is left to finish on its own and its result is discarded.
    /// It runs on threads outside Swift's cooperative pool, so one that blocks holds
    /// only its own thread, never the tasks of the host or the app.
    /// Replacing a name of Quarry's own API (`bedrock.converse`, `print`) throws unless
    /// `replacing` is true.
    public func register(
        _ name: String, replacing: Bool = false,
        _ body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue]
    ) async throws {
        try checkReplacing(name, replacing)
        let logger = core.logger
        try await sandbox.withState { state in
            let function = state.register(name) { call in
                let arguments = call.arguments
                return .suspend(
                    HostRequest.appWork {
                        do {
                            return try await body(arguments)
                        } catch {
                            throw Self.hostFailure(error, function: name, logger: logger)
                        }
                    })
            }
            try self.setUp(state) { try self.assign(function, to: name, in: state) }
        }
    }

    /// Registers a synchronous Swift function (runs on the Lua thread, no suspension:
    /// for cheap functions). Errors reach the script as `register` describes.
    public func registerSync(
        _ name: String, replacing: Bool = false,
        _ body: @escaping @Sendable ([LuaValue]) throws -> [LuaValue]
    ) async throws {
        try checkReplacing(name, replacing)
        let logger = core.logger
        try await sandbox.withState { state in
            let function = state.register(name) { call in
                do {
                    return .values(try body(call.arguments))
                } catch {
                    return .error(Self.hostFailure(error, function: name, logger: logger).luaValue)
                }
            }
            try self.setUp(state) { try self.assign(function, to: name, in: state) }
        }
    }

    /// Sets a global (or a dotted module field) to a value; over a name of Quarry's own
    /// API only with `replacing: true`.
    public func setGlobal(_ name: String, _ value: LuaValue, replacing: Bool = false) async throws {
        try checkReplacing(name, replacing)
        try await sandbox.withState { state in try self.setUp(state) { try self.assign(value, to: name, in: state) } }
    }

    /// Runs Lua source once in the host's state outside any run (module set-up).
    /// Host calls cannot suspend here.
    public func load(module source: String, name: String) async throws {
        _ = try await sandbox.withState { state in try self.setUp(state) { try state.execute(source, name: name) } }
    }

    /// Runs set-up source like `load(module:)` and returns its results; functions among
    /// them come back as registry references only the host holds (the test runner keeps
    /// its bookkeeping this way, out of the scripts' reach).
    func loadKeepingFunctions(_ source: String, name: String) async throws -> [LuaValue] {
        try await sandbox.withState { state in
            let saved = state.resultLimits
            state.resultLimits.allowFunctions = true
            defer { state.resultLimits = saved }
            return try self.setUp(state) { try state.execute(source, name: name) }
        }
    }

    /// Makes a global table that module set-up code filled read-only to scripts (every
    /// host table is; `register` and `setGlobal` freeze theirs already).
    public func freezeGlobal(_ name: String) async throws {
        try await sandbox.withState { state in try self.setUp(state) { try state.freezeGlobal(name) } }
    }

    /// Installs a module's functions and Lua code.
    public func install(_ module: any QuarryModule) async throws {
        try await module.install(into: self)
    }

    /// Observes every Bedrock call scripts make (metrics, reports, the REPL status line);
    /// keep the token to remove the observer with `removeCallObserver(_:)`. Observers run
    /// outside the script's thread and Swift's pool: one that blocks cannot hold a run
    /// past its deadline or `cancel()`.
    @discardableResult
    public func addCallObserver(_ observer: @escaping @Sendable (CallRecord) -> Void) -> CallObserverToken {
        core.addObserver(observer)
    }

    /// Stops an observer `addCallObserver` added; later calls are not reported to it.
    public func removeCallObserver(_ token: CallObserverToken) {
        core.removeObserver(token)
    }

    /// Sets the hook asked before every Bedrock call (see `Options.willCall`); nil removes it.
    public func willCall(_ hook: (@Sendable (PendingCall) -> CallDecision)?) {
        core.setWillCall(hook)
    }

    /// Stops the running evaluation: pending Bedrock calls and streams are cancelled and
    /// the Lua code is interrupted; the state survives for the next evaluation. Cancelling
    /// the task that awaits `evaluate` does the same. With no evaluation running it does
    /// nothing: it never affects set-up calls, a later run, or streams a `.session` run
    /// left open.
    public func cancel() {
        current.cancel()
    }

    /// Names at a dotted path, for tab completion (`""` for globals, `"bedrock"`, `"string"`).
    public func completions(atPath path: String) async -> [String] {
        (try? await sandbox.keys(atPath: path)) ?? []
    }

    /// What the policy's budgets allow still: calls and tokens used, and the budgets
    /// (`budget.luaValue` is the table `bedrock.budget()` returns).
    public var budget: BudgetUsage { core.budgetUsage }

    /// Closes the clients (and the target's in-process emulator is left to its owner).
    /// Final: a later `evaluate`/`run` throws ``ScriptError`` `HostShutDown` (a
    /// ``QuarryError`` with that code from `evaluate(_:as:)`), and no new client is made.
    public func shutdown() async {
        await core.shutdown()
    }

    // MARK: running

    private func execute(
        _ source: [UInt8], name: String, arguments: [LuaValue], limits: LuaLimits,
        run: RunState
    ) async throws -> [LuaValue] {
        core.beginRun(run)
        defer { core.endRun() }
        let co = try await sandbox.withState { state throws -> LuaCoroutine in
            state.beginRun(limits)
            do {
                let function = try state.load(bytes: source, name: name)
                defer { state.release(function) }
                return try state.newCoroutine(function)
            } catch {
                state.endRun()
                throw error
            }
        }
        let scheduler = Scheduler(
            sandbox: sandbox,
            deadline: ScriptNumber.hostDuration(seconds: limits.seconds).map { .now + $0 })
        let outcome: LuaResumeOutcome
        do {
            // Cancelling the run's task (`cancel()`, or the app cancelling the task that
            // awaits `evaluate`) interrupts running Lua at once, not only the waits.
            // The run's task prefers the Lua thread, as do a sequential script's light
            // calls (`HostRequest.lightCall`): the script and its call meet there instead
            // of waking each other across threads (see `LuaThread`).
            outcome = try await withTaskCancellationHandler {
                try await withTaskExecutorPreference(sandbox.executor) {
                    try await scheduler.drive(co, with: .values(arguments))
                }
            } onCancel: { [core, sandbox] in
                core.cancelStreams(remembered: true)
                sandbox.interrupt()
            }
        } catch {
            // Cancelled (Ctrl-C): close what the run left open. Streams of a run that ended
            // otherwise stay usable, so a REPL line may open one and the next iterate it.
            core.cancelStreams(remembered: true)
            await core.awaitCancelledStreams(within: .seconds(1))
            _ = try? await finish(co)
            throw error
        }
        // Cancelled as it ended: its stopped streams' records come before its end too.
        await core.awaitCancelledStreams(within: .seconds(1))
        // A stream the script stopped reading must not keep its call slot past the run.
        if isolation == .perRun { core.cancelStreams(.abandoned) }
        let report = try await finish(co)
        switch outcome {
        case .finished(let values):
            if let kind = report.trippedLimit { throw LuaError.limit(kind, report.tripMessage ?? kind.rawValue) }
            return values
        case .failed(let error):
            if Task.isCancelled, case .limit(.interrupted, _) = error { throw CancellationError() }
            throw error
        case .yielded:
            throw LuaError.runtime(message: "\(name): attempt to yield from outside a coroutine", value: nil)
        case .suspended:
            throw LuaError.state("\(name): the scheduler stopped while a call was pending")
        }
    }

    private func finish(_ co: LuaCoroutine) async throws -> LuaRunReport {
        try await sandbox.withState { state in
            state.release(co)
            let report = state.endRun()
            try self.restorePristine(state)
            return report
        }
    }

    /// `Isolation.perRun`: puts the pristine environment back (globals, the standard
    /// library's tables, no metatable on `_G`) after a run.
    private func restorePristine(_ state: LuaState) throws {
        guard isolation == .perRun else { return }
        do {
            try Self.outsideRun(state, Self.hostLimits(policy.limits)) { try call(keeper.restore, in: state) }
        } catch {
            // Fail closed: a host whose environment may hold a script's leftovers runs no more scripts.
            let failure = LuaError.state(
                "the host's pristine environment could not be restored after a run (\(error)); "
                    + "this host runs no more scripts: make a new one")
            environment.fail(failure)
            throw failure
        }
    }

    /// Throws `Reentrancy` when the calling task is inside one of this host's runs and a
    /// run is in progress (a registered function calling back into its own host would
    /// wait for itself; a task it started that calls later, with the host idle, need not).
    private func refuseReentry() throws {
        if RunContext.hosts.contains(ObjectIdentifier(self)) && current.isActive {
            throw ScriptError(
                code: .reentrancy,
                message: "QuarryHost.evaluate was called from a function this host's own script is running; "
                    + "a host runs one script at a time (return a value to the script, or use another host)")
        }
    }

    private func checkReplacing(_ name: String, _ replacing: Bool) throws {
        guard !replacing, builtIns.contains(name) else { return }
        throw ScriptError(
            code: .validationError,
            message: "'\(name)' is part of Quarry's built-in API; pass replacing: true to replace it")
    }

    /// The script-facing form of an error an app's registered function threw: a
    /// `ScriptError` (and a cancellation) as it is; any other error becomes
    /// `HostError: host function failed (id …)`, and its full text goes to `logger` only
    /// (at `error` level, with the function's name and the same id), so a connection
    /// string or a password in a Swift error never reaches the untrusted script.
    static func hostFailure(_ error: any Error, function name: String, logger: Logger) -> ScriptError {
        if let e = error as? ScriptError { return e }
        if error is CancellationError { return ScriptError.from(error) }
        let id = String(UInt64.random(in: .min ... .max), radix: 16)
        logger.error(
            "host function failed",
            metadata: [
                "function": .string(name), "id": .string(id), "error": .string(String(describing: error)),
            ])
        return ScriptError(code: .hostError, message: "host function failed (id \(id))", fields: ["id": .string(id)])
    }

    /// Runs set-up Lua (module code, `arg`, module fields) outside any evaluation under a
    /// fresh run of the policy's limits: the deadline of a run that ended long ago (or of
    /// the state's creation) must not fail set-up code. Inside an evaluation (a host
    /// function registering more) it runs under that evaluation's limits.
    ///
    /// With `Isolation.perRun`, what set-up leaves becomes the pristine environment.
    private func setUp<T>(_ state: LuaState, _ body: () throws -> T) throws -> T {
        if state.isRunning { return try body() }
        return try Self.outsideRun(state, Self.hostLimits(policy.limits)) {
            let result = try body()
            if isolation == .perRun { try call(keeper.take, in: state) }
            return result
        }
    }

    /// The limits the host's own Lua and an app's set-up run under (the prelude, the
    /// environment keeper, `register`/`setGlobal`): the policy's memory and output caps,
    /// and at least the default instruction, time and host-call budgets, so a script's
    /// small budget (`--max-instructions 1000`) limits the script, never the host's set-up.
    static func hostLimits(_ limits: LuaLimits) -> LuaLimits {
        var host = limits
        let defaults = LuaLimits()
        host.instructions = max(limits.instructions, defaults.instructions)
        host.seconds = max(limits.seconds, defaults.seconds)
        host.hostCalls = max(limits.hostCalls, defaults.hostCalls)
        return host
    }

    private static func outsideRun<T>(_ state: LuaState, _ limits: LuaLimits, _ body: () throws -> T) throws -> T {
        state.beginRun(limits)
        defer { state.endRun() }
        return try body()
    }

    /// Calls a host-held Lua function to completion.
    private func call(_ function: LuaValue, with arguments: [LuaValue] = [], in state: LuaState) throws {
        let co = try state.newCoroutine(function)
        defer { state.release(co) }
        switch state.resume(co, with: .values(arguments)) {
        case .finished: break
        case .failed(let error): throw error
        case .suspended, .yielded: throw LuaError.state("a host function of the environment did not finish")
        }
    }

    /// Sets `value` at a dotted path of globals, creating module tables on the way.
    /// Runs only host-held code with library functions captured at set-up: a script that
    /// replaced `pairs`, `type` or `table.concat` does not run inside it.
    func assign(_ value: LuaValue, to path: String, in state: LuaState) throws {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber } })
        else {
            throw ScriptError(
                code: .validationError, message: "'\(path)' is not a valid global name (letters, digits, _ and dots)")
        }
        if parts.count == 1 {
            var isTable = false
            switch value {
            case .map, .array, .tagged: isTable = true
            default: break
            }
            try state.setGlobal(path, value, readOnly: isTable)
            try keepInPristine(parts[0], state)
            return
        }
        // Host tables are read-only proxies: the assigner rebuilds the path with the new
        // field; then the module is frozen again.
        let co = try state.newCoroutine(assigner)
        defer { state.release(co) }
        switch state.resume(co, with: .values([value, .array(parts.map(LuaValue.string))])) {
        case .finished: break
        case .failed(let error): throw error
        case .suspended, .yielded: throw LuaError.state("'\(path)': the assignment did not finish")
        }
        try state.freezeGlobal(parts[0])
        try keepInPristine(parts[0], state)
    }

    /// Set-up inside a run (a host function registering more): the new global joins the
    /// pristine environment without the run's own globals.
    private func keepInPristine(_ name: String, _ state: LuaState) throws {
        guard isolation == .perRun, state.isRunning else { return }
        try call(keeper.keep, with: [.string(name)], in: state)
    }

    /// Runs set-up source that returns `count` functions and keeps them as references
    /// only the host holds (made from the original library functions, so no script can
    /// change what they run).
    private static func makeHeld(
        _ sandbox: LuaSandbox, _ source: String, name: String, count: Int,
        arguments: [LuaValue] = []
    ) async throws -> [LuaValue] {
        try await sandbox.withState { state in
            try outsideRun(state, LuaLimits()) {
                let chunk = try state.load(source, name: name)
                defer { state.release(chunk) }
                let saved = state.resultLimits
                state.resultLimits.allowFunctions = true
                defer { state.resultLimits = saved }
                let co = try state.newCoroutine(chunk)
                defer { state.release(co) }
                guard case .finished(let values) = state.resume(co, with: .values(arguments)), values.count == count,
                    values.allSatisfy({ if case .function = $0 { true } else { false } })
                else {
                    throw LuaError.state("\(name): the host's functions could not be made")
                }
                return values
            }
        }
    }
}

/// The pristine environment of a host with `Isolation.perRun`: `take` records the
/// globals and the contents (and metatables) of the tables they hold, `restore` puts
/// them back (removing what a run added), `keep(name)` records one global anew. Runs
/// only library functions captured when it was made, raw accesses only.
struct EnvironmentKeeper: Sendable {
    let take: LuaValue
    let restore: LuaValue
    let keep: LuaValue

    /// `environment.lua` beside this file, embedded at build time.
    static var source: String { String(decoding: PackageResources.environment_lua, as: UTF8.self) }
}

/// Whether a `.perRun` host's environment is known clean.
final class EnvironmentHealth: Sendable {
    private let stored = Mutex<LuaError?>(nil)
    func fail(_ error: LuaError) { stored.withLock { if $0 == nil { $0 = error } } }
    var failure: LuaError? { stored.withLock { $0 } }
}

/// The hosts whose runs the current task is part of (a registered function's task
/// inherits it), so `evaluate` can refuse re-entry instead of deadlocking.
enum RunContext {
    @TaskLocal static var hosts: Set<ObjectIdentifier> = []
}

/// One evaluation at a time per host (FIFO).
final class RunLock: @unchecked Sendable {
    private let lock = Mutex(())
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let entered = lock.withLock { _ in
                guard !busy else {
                    waiters.append(c)
                    return false
                }
                busy = true
                return true
            }
            if entered { c.resume() }
        }
    }

    func unlock() {
        let next = lock.withLock { _ -> CheckedContinuation<Void, Never>? in
            guard !waiters.isEmpty else {
                busy = false
                return nil
            }
            return waiters.removeFirst()
        }
        next?.resume()
    }
}

/// The task of the evaluation in progress, so `cancel()` can reach it from any thread.
final class CurrentRun: Sendable {
    private let task = Mutex<Task<[LuaValue], any Error>?>(nil)

    func set(_ t: Task<[LuaValue], any Error>?) {
        task.withLock { $0 = t }
    }

    func cancel() {
        let t = task.withLock { $0 }
        t?.cancel()
    }

    /// Whether an evaluation is in progress.
    var isActive: Bool { task.withLock { $0 != nil } }
}
