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
/// let target = try await QuarryTarget.resolve()
/// let host = try await QuarryHost(target: target)
/// try await host.register("weather") { args in [.string("sunny in \(args.first?.stringValue ?? "?")")] }
/// let values = try await host.evaluate("return bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi'}.text")
/// ```
public final class QuarryHost: Sendable {
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
        /// Where `log.info/warn/error` go (redacted).
        public var logger: Logger
        /// The model for calls without `model=` (the REPL's `:use`).
        public var defaultModel: String?
        /// The audit log of every Bedrock call and policy refusal; nil for none. The host's
        /// initializer throws when the log cannot be opened, before any script runs.
        public var audit: AuditLog? = nil

        /// Options with the given parts; output goes to standard output by default.
        public init(policy: HostPolicy = .permissive,
                    output: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
                    errorOutput: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                    input: (@Sendable () async -> String?)? = nil,
                    logger: Logger = Logger(label: "quarry.script"), defaultModel: String? = nil) {
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
    let core: HostCore
    /// The Lua function that sets a dotted module field (see `assign`), made at set-up
    /// from the original library functions, so no script can change what it runs.
    private let assigner: LuaValue
    private let runLock = RunLock()
    private let current = CurrentRun()

    /// Creates the Lua state, installs the API and applies the policy's limits.
    public init(target: QuarryTarget, options: Options = Options()) async throws {
        try options.policy.validate()
        self.target = target
        self.policy = options.policy
        let core = HostCore(target: target, policy: options.policy, logger: options.logger,
                            defaultModel: options.defaultModel, errorOutput: options.errorOutput,
                            input: options.input, auditor: try options.audit.map(AuditWriter.init))
        self.core = core
        let sandbox = try await LuaSandbox(limits: options.policy.limits, output: options.output)
        self.sandbox = sandbox
        let bindings = BedrockBindings(core: core)
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
            var functions = try bindings.functions(in: state)
            functions["null"] = .null
            functions["write"] = try state.outputWriter()
            try state.setGlobal("__quarry", .map(functions))
            _ = try state.execute(Prelude.source, name: Prelude.chunkName)
            for name in Prelude.hostTables { try state.freezeGlobal(name) }
        }
        self.assigner = try await Self.makeAssigner(sandbox)
    }

    /// The model used by calls that do not name one.
    public var defaultModel: String? {
        get { core.defaultModel }
        set { core.defaultModel = newValue }
    }

    /// Runs a chunk in the host's persistent state as a scheduled coroutine and returns
    /// its values. Evaluations on one host run one at a time.
    ///
    /// Throws `LuaError` (syntax; runtime with the script's `file:line`; a tripped limit)
    /// or `CancellationError` after `cancel()`.
    public func evaluate(_ source: String, name: String = "=chunk", arguments: [LuaValue] = []) async throws -> [LuaValue] {
        await runLock.lock()
        defer { runLock.unlock() }
        let task = Task { try await self.execute(source, name: name, arguments: arguments) }
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
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScriptError(code: "FileNotFound", message: "cannot read script '\(path)'")
        }
        try await setArguments(script: path, arguments)
        return try await evaluate(String(decoding: data, as: UTF8.self), name: "@" + path,
                                  arguments: arguments.map(LuaValue.string))
    }

    /// Sets the global `arg` table: `arg[0]` is the script, `arg[1…]` its arguments.
    public func setArguments(script: String, _ arguments: [String]) async throws {
        try await sandbox.withState { state in
            try state.setGlobal("arg", arguments.isEmpty ? .map([:]) : .array(arguments.map(LuaValue.string)))
            try state.setGlobal("__quarry_script", .string(script))
            _ = try self.setUp(state) { try state.execute("arg[0] = __quarry_script; __quarry_script = nil", name: "=[quarry arg]") }
        }
    }

    /// Registers an async Swift function as a Lua global (a dotted name such as
    /// `tools.lookup` creates or extends a module table). Calling it yields the script
    /// like a Bedrock call; throw `ScriptError` to raise a structured Lua error.
    public func register(_ name: String, _ body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue]) async throws {
        try await sandbox.withState { state in
            let function = state.register(name) { call in
                let arguments = call.arguments
                return .suspend(HostRequest.work { try await body(arguments) })
            }
            try self.setUp(state) { try self.assign(function, to: name, in: state) }
        }
    }

    /// Registers a synchronous Swift function (runs on the Lua thread, no suspension:
    /// for cheap functions). Throw `ScriptError` to raise a structured Lua error.
    public func registerSync(_ name: String, _ body: @escaping @Sendable ([LuaValue]) throws -> [LuaValue]) async throws {
        try await sandbox.withState { state in
            let function = state.register(name) { call in
                do {
                    return .values(try body(call.arguments))
                } catch {
                    return .error(ScriptError.from(error).luaValue)
                }
            }
            try self.setUp(state) { try self.assign(function, to: name, in: state) }
        }
    }

    /// Sets a global (or a dotted module field) to a value.
    public func setGlobal(_ name: String, _ value: LuaValue) async throws {
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
        try await sandbox.withState { state in try state.freezeGlobal(name) }
    }

    /// Installs a module's functions and Lua code.
    public func install(_ module: any QuarryModule) async throws {
        try await module.install(into: self)
    }

    /// Observes every Bedrock call scripts make (metrics, reports, the REPL status line).
    public func addCallObserver(_ observer: @escaping @Sendable (CallRecord) -> Void) {
        core.addObserver(observer)
    }

    /// Stops the running evaluation: pending Bedrock calls and streams are cancelled and
    /// the Lua code is interrupted; the state survives for the next evaluation.
    public func cancel() {
        current.cancel()
        core.cancelStreams()
        sandbox.interrupt()
    }

    /// Names at a dotted path, for tab completion (`""` for globals, `"bedrock"`, `"string"`).
    public func completions(atPath path: String) async -> [String] {
        (try? await sandbox.keys(atPath: path)) ?? []
    }

    /// What the budgets allow still: calls and tokens used, and the budgets.
    public var budget: LuaValue { core.budgetReport }

    /// Closes the clients (and the target's in-process emulator is left to its owner).
    public func shutdown() async {
        await core.shutdown()
    }

    // MARK: running

    private func execute(_ source: String, name: String, arguments: [LuaValue]) async throws -> [LuaValue] {
        let limits = policy.limits
        core.beginRun()
        let co = try await sandbox.withState { state throws -> LuaCoroutine in
            state.beginRun(limits)
            do {
                let function = try state.load(source, name: name)
                defer { state.release(function) }
                return try state.newCoroutine(function)
            } catch {
                state.endRun()
                throw error
            }
        }
        let scheduler = Scheduler(sandbox: sandbox,
                                  deadline: ScriptNumber.hostDuration(seconds: limits.seconds).map { .now + $0 })
        let outcome: LuaResumeOutcome
        do {
            outcome = try await scheduler.drive(co, with: .values(arguments))
        } catch {
            // Cancelled (Ctrl-C): close what the run left open. Streams of a run that ended
            // otherwise stay usable, so a REPL line may open one and the next iterate it.
            core.cancelStreams()
            _ = try? await finish(co)
            throw error
        }
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
            return state.endRun()
        }
    }

    /// Runs set-up Lua (module code, `arg`, module fields) outside any evaluation under a
    /// fresh run of the policy's limits: the deadline of a run that ended long ago (or of
    /// the state's creation) must not fail set-up code. Inside an evaluation (a host
    /// function registering more) it runs under that evaluation's limits.
    private func setUp<T>(_ state: LuaState, _ body: () throws -> T) throws -> T {
        if state.isRunning { return try body() }
        state.beginRun(policy.limits)
        defer { state.endRun() }
        return try body()
    }

    /// Sets `value` at a dotted path of globals, creating module tables on the way.
    /// Runs only host-held code with library functions captured at set-up: a script that
    /// replaced `pairs`, `type` or `table.concat` does not run inside it.
    func assign(_ value: LuaValue, to path: String, in state: LuaState) throws {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber } }) else {
            throw ScriptError(code: "ValidationError", message: "'\(path)' is not a valid global name (letters, digits, _ and dots)")
        }
        if parts.count == 1 {
            var isTable = false
            switch value {
            case .map, .array, .tagged: isTable = true
            default: break
            }
            try state.setGlobal(path, value, readOnly: isTable)
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
    }

    private static func makeAssigner(_ sandbox: LuaSandbox) async throws -> LuaValue {
        try await sandbox.withState { state in
            try state.load("""
                local pairs, type, error, concat, rawget, rawset, G = pairs, type, error, table.concat, rawget, rawset, _G
                return function(v, path)
                  local function copy(t)
                    local c = {}
                    if t ~= nil then
                      if type(t) ~= "table" then error("'" .. concat(path, ".") .. "': a part is not a table", 0) end
                      for k, x in pairs(t) do c[k] = x end
                    end
                    return c
                  end
                  local chain = { copy(rawget(G, path[1])) }
                  for i = 2, #path - 1 do chain[i] = copy(chain[i - 1][path[i]]) end
                  chain[#path - 1][path[#path]] = v
                  for i = #path - 1, 2, -1 do chain[i - 1][path[i]] = chain[i] end
                  rawset(G, path[1], chain[1])
                end
                """, name: "=[quarry assign]")
        }.asAssigner(in: sandbox)
    }
}

extension LuaValue {
    /// Runs the chunk that makes the assigner and keeps the function it returns.
    fileprivate func asAssigner(in sandbox: LuaSandbox) async throws -> LuaValue {
        let chunk = self
        return try await sandbox.withState { state in
            defer { state.release(chunk) }
            let saved = state.resultLimits
            state.resultLimits.allowFunctions = true
            defer { state.resultLimits = saved }
            let co = try state.newCoroutine(chunk)
            defer { state.release(co) }
            guard case .finished(let values) = state.resume(co), let f = values.first, case .function = f else {
                throw LuaError.state("the module assigner could not be made")
            }
            return f
        }
    }
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
}
