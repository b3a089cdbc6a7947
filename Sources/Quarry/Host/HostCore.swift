import Foundation
import Logging

/// The host's shared, thread-safe state: clients, budgets, observers, open streams.
/// Host functions hold this (not the host), so the Lua state never keeps the host alive.
final class HostCore: @unchecked Sendable {
    let target: QuarryTarget
    let policy: HostPolicy
    let logger: Logger
    let gate: CallGate
    private let lock = NSLock()
    private var clients: [ClientSettings: BedrockRuntimeClient] = [:]
    private var observers: [@Sendable (CallRecord) -> Void] = []
    private var callsUsed = 0
    private var tokensCommitted = 0
    private var tokensReserved = 0
    private var model: String?
    private var streams: [ObjectIdentifier: StreamPump] = [:]

    let errorOutput: @Sendable (String) -> Void
    let input: (@Sendable () async -> String?)?
    private var errorBytes = 0

    init(target: QuarryTarget, policy: HostPolicy, logger: Logger, defaultModel: String?,
         errorOutput: @escaping @Sendable (String) -> Void, input: (@Sendable () async -> String?)?) {
        self.errorOutput = errorOutput
        self.input = input
        self.target = target
        self.policy = policy
        self.logger = logger
        self.gate = CallGate(limit: policy.maxConcurrentCalls)
        self.model = defaultModel
    }

    var defaultModel: String? {
        get { lock.lock(); defer { lock.unlock() }; return model }
        set { lock.lock(); model = newValue; lock.unlock() }
    }

    /// The client for `settings`, made once and reused.
    func client(_ settings: ClientSettings) throws -> BedrockRuntimeClient {
        lock.lock()
        if let c = clients[settings] { lock.unlock(); return c }
        lock.unlock()
        let made = try target.makeClient(settings)
        lock.lock()
        if let c = clients[settings] {
            lock.unlock()
            Task { try? await made.shutdown() }
            return c
        }
        clients[settings] = made
        lock.unlock()
        return made
    }

    /// Counts a call against the budgets before it is sent; the token reservation is
    /// settled to the real usage afterwards.
    func reserve(maxTokens: Int?) throws(ScriptError) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if let budget = policy.callBudget, callsUsed >= budget {
            throw ScriptError(code: "PolicyViolation", message: "the call budget of \(budget) calls is used up")
        }
        var reserve = 0
        if let budget = policy.tokenBudget {
            reserve = maxTokens ?? policy.assumedMaxTokens
            let committed = tokensCommitted + tokensReserved
            guard committed + reserve <= budget else {
                throw ScriptError(code: "PolicyViolation",
                                  message: "the token budget of \(budget) would be exceeded: \(committed) used or reserved, this call may use \(reserve) (maxTokens)")
            }
            tokensReserved += reserve
        }
        callsUsed += 1
        return reserve
    }

    func settle(reserved: Int, used: Int) {
        lock.lock()
        tokensReserved -= reserved
        tokensCommitted += used
        lock.unlock()
    }

    /// What the budgets allow still (for `bedrock.budget()`).
    var budgetReport: LuaValue {
        lock.lock()
        defer { lock.unlock() }
        var m: [String: LuaValue] = ["calls_used": .integer(Int64(callsUsed)), "tokens_used": .integer(Int64(tokensCommitted))]
        if let b = policy.callBudget { m["call_budget"] = .integer(Int64(b)) }
        if let b = policy.tokenBudget { m["token_budget"] = .integer(Int64(b)) }
        return .map(m)
    }

    /// Writes to the error stream, within the same byte limit as normal output.
    func writeError(_ text: String) -> Bool {
        guard chargeOutput(text.utf8.count) else { return false }
        errorOutput(text)
        return true
    }

    /// Counts bytes of the run's error-stream and log output against the output limit;
    /// false (nothing counted) when they would pass it.
    func chargeOutput(_ bytes: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let (sum, overflow) = errorBytes.addingReportingOverflow(bytes)
        guard !overflow, sum <= policy.limits.outputBytes else { return false }
        errorBytes = sum
        return true
    }

    /// A run starts: its error-stream and log output start from zero.
    func beginRun() {
        lock.lock(); errorBytes = 0; lock.unlock()
    }

    func addObserver(_ observer: @escaping @Sendable (CallRecord) -> Void) {
        lock.lock(); observers.append(observer); lock.unlock()
    }

    func notify(_ record: CallRecord) {
        lock.lock()
        let current = observers
        lock.unlock()
        for observer in current { observer(record) }
    }

    func track(_ pump: StreamPump) {
        lock.lock(); streams[ObjectIdentifier(pump)] = pump; lock.unlock()
    }

    func untrack(_ pump: StreamPump) {
        lock.lock(); streams[ObjectIdentifier(pump)] = nil; lock.unlock()
    }

    /// Cancels every stream still open (the end of a run, or Ctrl-C).
    func cancelStreams() {
        lock.lock()
        let open = Array(streams.values)
        streams.removeAll()
        lock.unlock()
        for pump in open { pump.cancel() }
    }

    deinit {
        // A host dropped without `shutdown()` must not take the process down with it:
        // AsyncHTTPClient insists on an explicit shutdown, so hand the clients to a task.
        let leftover = Array(clients.values)
        if !leftover.isEmpty {
            Task.detached { for client in leftover { try? await client.shutdown() } }
        }
    }

    func shutdown() async {
        cancelStreams()
        let all = lock.withLock {
            let all = Array(clients.values)
            clients.removeAll()
            return all
        }
        for client in all { try? await client.shutdown() }
    }
}
