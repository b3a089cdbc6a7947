import BedrockBatch
import Foundation
import Logging
import Synchronization

/// The host's shared, thread-safe state: clients, budgets, observers, open streams.
/// Host functions hold this (not the host), so the Lua state never keeps the host alive.
final class HostCore: @unchecked Sendable {
    let target: QuarryTarget
    let policy: HostPolicy
    let logger: Logger
    let gate: CallGate
    private let lock = Mutex(())
    private var clients: [ClientSettings: BedrockRuntimeClient] = [:]
    private var batch: BedrockBatchClient?
    private var admitted: Set<ClientSettings> = []
    private var observers: [(id: Int, bounded: Bool, body: @Sendable (CallRecord) -> Void)] = []
    private var nextObserverId = 0
    private var run = RunState()
    private var hook: (@Sendable (PendingCall) -> CallDecision)?
    private var isShutDown = false
    /// A budget the app shares between hosts (`Options.budget`).
    let sharedBudget: TokenBudget?
    private var callsUsed = 0
    private var tokensCommitted = 0
    private var tokensReserved = 0
    private var requestBytesHeld = 0
    private var model: String?
    private var streams: [ObjectIdentifier: StreamPump] = [:]
    /// Streams a cancelled run stopped, until the run has waited for them to end.
    private var cancelling: [StreamPump] = []

    let errorOutput: @Sendable ([UInt8]) -> Void
    let input: (@Sendable () async -> [UInt8]?)?
    /// Why scripts get no input, for `stdin.read`'s `NoInput` error (`Options.noInputReason`).
    let noInputReason: String?
    private var errorBytes = 0
    /// The audit log, when the host keeps one (see `HostCore+Audit.swift`).
    let auditor: AuditWriter?
    let auditPrincipals = AuditPrincipalCache()

    init(
        target: QuarryTarget, policy: HostPolicy, logger: Logger, defaultModel: String?,
        errorOutput: @escaping @Sendable ([UInt8]) -> Void, input: (@Sendable () async -> [UInt8]?)?,
        auditor: AuditWriter? = nil, sharedBudget: TokenBudget? = nil, noInputReason: String? = nil
    ) {
        self.noInputReason = noInputReason
        self.auditor = auditor
        self.sharedBudget = sharedBudget
        self.errorOutput = errorOutput
        self.input = input
        self.target = target
        self.policy = policy
        self.logger = logger
        self.gate = CallGate(limit: policy.maxConcurrentCalls)
        self.model = defaultModel
    }

    var defaultModel: String? {
        get { lock.withLock { _ in model } }
        set { lock.withLock { _ in model = newValue } }
    }

    /// Admits `settings` as one of the host's clients: at most `policy.maxClients`
    /// distinct settings (the target's own, `ClientSettings()`, is always admitted).
    func admit(_ settings: ClientSettings) throws(ScriptError) {
        try lock.withLock { _ throws(ScriptError) in
            if settings == ClientSettings() || admitted.contains(settings) { return }
            guard admitted.count < policy.maxClients else {
                throw ScriptError(
                    code: .limitExceeded,
                    message:
                        "bedrock.client: this host keeps at most \(policy.maxClients) distinct clients; reuse a client instead of making new ones"
                )
            }
            admitted.insert(settings)
        }
    }

    /// The client for `settings`, made once and reused.
    func client(_ settings: ClientSettings) throws -> BedrockRuntimeClient {
        try admit(settings)
        if let c = try lock.withLock({ _ throws(ScriptError) -> BedrockRuntimeClient? in
            if isShutDown {
                throw ScriptError(code: .hostShutDown, message: "this host was shut down; make a new QuarryHost")
            }
            return clients[settings]
        }) {
            return c
        }
        // The calls in flight hold at most twice the sandbox's memory (issue 23).
        let made = try target.makeClient(
            settings, maxInFlightBytes: QuarryTarget.maxInFlightBytesForScripts(memoryBytes: policy.limits.memoryBytes))
        let (shutDown, existing) = lock.withLock { _ -> (Bool, BedrockRuntimeClient?) in
            if isShutDown || clients[settings] != nil { return (isShutDown, clients[settings]) }
            clients[settings] = made
            return (false, nil)
        }
        if shutDown || existing != nil {
            Task { try? await made.shutdown() }
            guard let existing else {
                throw ScriptError(code: .hostShutDown, message: "this host was shut down; make a new QuarryHost")
            }
            return existing
        }
        return made
    }

    /// The host's batch inference client (the target's default settings), made once.
    func batchClient() throws -> BedrockBatchClient {
        if let c = try lock.withLock({ _ throws(ScriptError) -> BedrockBatchClient? in
            if isShutDown {
                throw ScriptError(code: .hostShutDown, message: "this host was shut down; make a new QuarryHost")
            }
            return batch
        }) {
            return c
        }
        let made = try target.makeBatchClient(
            maxInFlightBytes: QuarryTarget.maxInFlightBytesForScripts(memoryBytes: policy.limits.memoryBytes))
        let (shutDown, existing) = lock.withLock { _ -> (Bool, BedrockBatchClient?) in
            if isShutDown || batch != nil { return (isShutDown, batch) }
            batch = made
            return (false, nil)
        }
        if shutDown || existing != nil {
            Task { try? await made.shutdown() }
            guard let existing else {
                throw ScriptError(code: .hostShutDown, message: "this host was shut down; make a new QuarryHost")
            }
            return existing
        }
        return made
    }

    /// Counts a call against the budgets before it is sent: the token reservation is
    /// the estimated input (`inputTokens`, see `TokenEstimate`) plus the output cap, and is
    /// settled to the real usage afterwards.
    ///
    /// `requestBytes` (what the request holds in Swift while the call runs) counts against
    /// the sandbox's memory limit together with every other call in flight: each call's
    /// values crossed within the limit, but many calls at once could each hold that much.
    func reserve(maxTokens: Int?, inputTokens: Int = 0, requestBytes: Int = 0) throws(ScriptError) -> Reservation {
        try lock.withLock { _ throws(ScriptError) -> Reservation in
            try reserveLocked(maxTokens: maxTokens, inputTokens: inputTokens, requestBytes: requestBytes)
        }
    }

    /// `reserve`'s work, under the lock.
    private func reserveLocked(maxTokens: Int?, inputTokens: Int, requestBytes: Int) throws(ScriptError) -> Reservation
    {
        if let budget = policy.callBudget, callsUsed >= budget {
            throw ScriptError(code: .policyViolation, message: "the call budget of \(budget) calls is used up")
        }
        let bytes = max(0, requestBytes)
        let cap = policy.limits.memoryBytes
        guard requestBytesHeld <= cap, bytes <= cap - requestBytesHeld else {
            throw ScriptError(
                code: .limitExceeded,
                message: LuaLimits.memoryCapMessage(
                    cap,
                    "calls in flight hold \(requestBytesHeld) bytes of requests and this one needs \(bytes) more; "
                        + "lower the concurrency"))
        }
        let output = max(0, maxTokens ?? policy.assumedMaxTokens)
        let input = max(0, inputTokens)
        let reserve = output.addingReportingOverflow(input).overflow ? Int.max : output + input
        if let budget = policy.tokenBudget {
            let committed = tokensCommitted + tokensReserved
            guard committed <= budget, reserve <= budget - committed else {
                // Without a cap the call reserves the assumed maximum: say how to ask for less.
                let hint =
                    maxTokens == nil
                    ? "; the call sets no max_tokens, so \(output) are assumed: set inference.max_tokens (or max_tokens in an invoke body) to what the answer needs"
                    : ""
                throw ScriptError(
                    code: .policyViolation,
                    message:
                        "the token budget of \(budget) would be exceeded: \(committed) used or reserved, this call may use \(reserve) (about \(input) input + \(output) maxTokens)\(hint)"
                )
            }
        }
        // The app's shared budget and the run's own, each all-or-nothing.
        var charged: [TokenBudget] = []
        for (budget, name) in [(sharedBudget, "shared"), (run.budget, "run's")] {
            guard let budget else { continue }
            do {
                try budget.reserve(reserve, name: name)
                charged.append(budget)
            } catch {
                for b in charged { b.refund(reserve) }
                throw error
            }
        }
        if policy.tokenBudget != nil { tokensReserved += reserve }
        callsUsed += 1
        requestBytesHeld += bytes
        return Reservation(
            tokens: policy.tokenBudget == nil ? 0 : reserve, requestBytes: bytes,
            shared: charged, sharedTokens: reserve)
    }

    /// What `reserve` took: tokens against the budget, request bytes against the memory limit.
    struct Reservation: Sendable {
        var tokens: Int
        var requestBytes: Int
        /// The app's budgets charged too (`Options.budget`, `RunSettings.budget`), and how much.
        var shared: [TokenBudget] = []
        var sharedTokens = 0
    }

    /// Replaces a reservation by what the call used (never negative; see
    /// `TokenSettlement`), and gives back its request bytes. The policy's budget and the
    /// app's (`Options.budget`, `RunSettings.budget`) are each settled against their own
    /// reservation.
    func settle(_ reservation: Reservation, reported: (input: Int?, output: Int?)?, refusedWithoutOutput: Bool) {
        let used = TokenSettlement.used(
            reserved: reservation.tokens, reported: reported, refusedWithoutOutput: refusedWithoutOutput)
        lock.withLock { _ in
            requestBytesHeld -= reservation.requestBytes
            let reserved = reservation.tokens
            tokensReserved -= reserved
            let (sum, overflow) = tokensCommitted.addingReportingOverflow(max(0, used))
            tokensCommitted = overflow ? Int.max : sum
        }
        guard !reservation.shared.isEmpty else { return }
        let sharedUsed = TokenSettlement.used(
            reserved: reservation.sharedTokens, reported: reported,
            refusedWithoutOutput: refusedWithoutOutput)
        for budget in reservation.shared { budget.settle(reserved: reservation.sharedTokens, used: sharedUsed) }
    }

    /// What the budgets allow still (for `bedrock.budget()`).
    var budgetReport: LuaValue { budgetUsage.luaValue }

    /// What the policy's budgets allow still.
    var budgetUsage: BudgetUsage {
        lock.withLock { _ in
            BudgetUsage(
                callsUsed: callsUsed, tokensUsed: tokensCommitted, tokensReserved: tokensReserved,
                callBudget: policy.callBudget, tokenBudget: policy.tokenBudget)
        }
    }

    /// Writes to the error stream, within the same byte limit as normal output.
    func writeError(_ text: [UInt8]) -> Bool {
        guard chargeOutput(text.count) else { return false }
        errorOutput(text)
        return true
    }

    /// Counts bytes of the run's error-stream and log output against the output limit;
    /// false (nothing counted) when they would pass it.
    func chargeOutput(_ bytes: Int) -> Bool {
        lock.withLock { _ in
            let (sum, overflow) = errorBytes.addingReportingOverflow(bytes)
            guard !overflow, sum <= policy.limits.outputBytes else { return false }
            errorBytes = sum
            return true
        }
    }

    /// A run starts: its error-stream and log output start from zero; its id, budget and
    /// event sink apply to the calls it makes.
    func beginRun(_ state: RunState = RunState()) {
        lock.withLock { _ in
            errorBytes = 0; run = state
        }
    }

    /// A run ended: events of calls it left behind go nowhere.
    func endRun() {
        lock.withLock { _ in run = RunState() }
    }

    /// The run in progress (its id, budget, event sink).
    var currentRun: RunState { lock.withLock { _ in run } }

    /// Whether `shutdown()` ran.
    var shutDown: Bool { lock.withLock { _ in isShutDown } }

    /// Adds an observer. A `bounded` one is Quarry's own code that cannot block (a
    /// short lock, no I/O): it runs in place even on the script's thread.
    func addObserver(
        bounded: Bool = false, _ observer: @escaping @Sendable (CallRecord) -> Void
    ) -> CallObserverToken {
        lock.withLock { _ in
            nextObserverId += 1
            observers.append((nextObserverId, bounded, observer))
            return CallObserverToken(id: nextObserverId)
        }
    }

    func removeObserver(_ token: CallObserverToken) {
        lock.withLock { _ in observers.removeAll { $0.id == token.id } }
    }

    /// Reports a finished call to the app's observers. A light call running on the
    /// script's thread (`HostRequest.lightCall`) hands them to the app-function threads:
    /// an observer may block, and the script's thread must stay free to end the run. Only
    /// Quarry's own bounded observers (`metrics`) run in place there: handing them over
    /// would cost the call two thread switches.
    /// Elsewhere they run in place, as soon as the call ends (a stream's status line in
    /// the REPL comes before the next prompt).
    func notify(_ record: CallRecord, events: RunEventSink? = nil) async {
        let current = lock.withLock { _ in observers }
        if CallExecutor.preferred == nil {
            for observer in current { observer.body(record) }
        } else {
            for observer in current where observer.bounded { observer.body(record) }
            if current.contains(where: { !$0.bounded }) {
                await withTaskExecutorPreference(AppFunctionExecutor.shared) {
                    // A task an observer starts does not inherit the call's pinning.
                    CallExecutor.$preferred.withValue(nil) {
                        for observer in current where !observer.bounded { observer.body(record) }
                    }
                }
            }
        }
        events?.emit(.callEnded(record))
    }

    /// Sets the pre-call hook (nil removes it).
    func setWillCall(_ body: (@Sendable (PendingCall) -> CallDecision)?) {
        lock.withLock { _ in hook = body }
    }

    /// Asks the app's `willCall` hook; a refusal is a `PolicyViolation` with its reason.
    func checkWillCall(operation: String, model: String?, region: String) throws(ScriptError) {
        let (hook, runId) = lock.withLock { _ in (self.hook, run.id) }
        guard let hook else { return }
        if case .refuse(let reason) = hook(
            PendingCall(operation: operation, model: model, region: region, runId: runId))
        {
            throw ScriptError(
                code: .policyViolation, message: reason,
                fields: ["reason": .string(reason), "rule": .string("willCall")])
        }
    }

    func track(_ pump: StreamPump) {
        lock.withLock { _ in streams[ObjectIdentifier(pump)] = pump }
    }

    func untrack(_ pump: StreamPump) {
        lock.withLock { _ in streams[ObjectIdentifier(pump)] = nil }
    }

    /// Cancels every stream still open (the end of a run, or Ctrl-C), recording `reason`.
    /// With `remembered`, the run cancelling them waits for their ends with
    /// `awaitCancelledStreams` (their call records then come before the run's end).
    func cancelStreams(_ reason: StreamPump.StopReason = .cancelled, remembered: Bool = false) {
        let open = lock.withLock { _ in
            let open = Array(streams.values)
            streams.removeAll()
            if remembered { cancelling += open }
            return open
        }
        for pump in open { pump.cancel(reason) }
    }

    /// Waits, at most `limit`, for the streams a cancelled run stopped to end: their
    /// observers then see the cancelled calls before the run returns (the REPL prints a
    /// stream's status line only while its input runs).
    func awaitCancelledStreams(within limit: Duration) async {
        let pumps = lock.withLock { _ in
            defer { cancelling.removeAll() }
            return cancelling
        }
        guard !pumps.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for pump in pumps { await pump.ended() } }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }

    deinit {
        // A host dropped without `shutdown()` must not take the process down with it:
        // AsyncHTTPClient insists on an explicit shutdown, so hand the clients to a task.
        let leftover = Array(clients.values)
        if !leftover.isEmpty {
            Task.detached { for client in leftover { try? await client.shutdown() } }
        }
        if let batch { Task.detached { try? await batch.shutdown() } }
    }

    func shutdown() async {
        lock.withLock { _ in isShutDown = true }
        cancelStreams()
        let (all, batchClient) = lock.withLock { _ in
            let all = Array(clients.values)
            clients.removeAll()
            defer { batch = nil }
            return (all, batch)
        }
        for client in all { try? await client.shutdown() }
        try? await batchClient?.shutdown()
    }
}

/// What the run in progress gives the calls it makes.
struct RunState: Sendable {
    var id: String?
    var budget: TokenBudget?
    var events: RunEventSink?
}

/// Where a run's events go (`QuarryHost.events(for:)`); thread-safe, in call order.
final class RunEventSink: Sendable {
    let continuation: AsyncThrowingStream<RunEvent, any Error>.Continuation
    init(_ continuation: AsyncThrowingStream<RunEvent, any Error>.Continuation) { self.continuation = continuation }
    func emit(_ event: RunEvent) { continuation.yield(event) }
}

/// What a call is charged against the token budget once it ends.
///
/// The service's own counts when it reported both, each in range (a trillion at most);
/// otherwise the whole reservation, unless the call provably generated nothing: the
/// service answered with an error before any output. A call that timed out, was
/// cancelled, lost its connection or failed after output may have been billed, so it
/// keeps its reservation: a script cannot make calls free by cutting them short.
enum TokenSettlement {
    static let countLimit = 1_000_000_000_000

    /// `reported`: the service's input and output counts, if it sent any.
    /// `refusedWithoutOutput`: the call ended with a service error and no output.
    static func used(reserved: Int, reported: (input: Int?, output: Int?)?, refusedWithoutOutput: Bool) -> Int {
        if let reported, let input = reported.input, let output = reported.output,
            (0...countLimit).contains(input), (0...countLimit).contains(output)
        {
            return input + output
        }
        return refusedWithoutOutput ? 0 : reserved
    }

    /// Whether `error` is the service refusing the call (an HTTP error answer, or an error
    /// event before any output), rather than a cut, timeout or cancellation.
    static func isServiceRefusal(_ error: any Error) -> Bool {
        guard let e = error as? BedrockError else { return (error as? ScriptError)?.status != nil }
        if case .service = e.kind { return e.partialResult.map { $0.content.isEmpty } ?? true }
        return false
    }
}

/// Input-token estimates made before a call is sent, for budget reservations.
///
/// Text counts one token per 4 bytes, rounded up (tokenizers average 3.5–4.5 bytes per
/// token on prose): every string of the request, documents and text sources included
/// (base64 counted as it stands, which only over-estimates). Media (an image, video or
/// audio block: a member named so, or an object whose `type` says so) counts one token
/// per 750 bytes and at least 1,600 a block, about what a large image costs. The
/// reservation is settled to what the service reports afterwards.
enum TokenEstimate {
    static func tokens(textBytes: Int) -> Int { textBytes / 4 + (textBytes % 4 == 0 ? 0 : 1) }

    static let mediaKeys: Set<String> = ["image", "images", "inputImage", "video", "audio"]
    static let mediaTypes: Set<String> = ["image", "video", "audio", "image_url", "input_image", "input_audio"]
    static let minimumMediaTokens = 1_600

    /// The estimated tokens of a JSON request.
    static func tokens(_ json: JSONValue) -> Int {
        let (text, media) = walk(json)
        let (sum, overflow) = tokens(textBytes: text).addingReportingOverflow(media)
        return overflow ? Int.max : sum
    }

    private static func walk(_ json: JSONValue) -> (textBytes: Int, mediaTokens: Int) {
        switch json {
        case .string(let s): return (s.utf8.count, 0)
        case .array(let items):
            return items.reduce((0, 0)) { add($0, walk($1)) }
        case .object(let members):
            if case .string(let type)? = members.first(where: { $0.0 == "type" })?.1, mediaTypes.contains(type) {
                return (0, media(json))
            }
            return members.reduce((0, 0)) { sum, member in
                if mediaKeys.contains(member.0) { return add(sum, (member.0.utf8.count, media(member.1))) }
                return add(sum, add((member.0.utf8.count, 0), walk(member.1)))
            }
        default: return (0, 0)
        }
    }

    private static func media(_ json: JSONValue) -> Int {
        max(minimumMediaTokens, stringBytes(json) / 750)
    }

    /// The bytes of every string in `json`, object keys included (a request can carry
    /// its bulk in keys: the attacker audit of 2026-12-06 sent 45 MB of them as 40 bytes).
    private static func stringBytes(_ json: JSONValue) -> Int {
        switch json {
        case .string(let s): return s.utf8.count
        case .array(let items): return items.reduce(0) { $0 &+ stringBytes($1) }
        case .object(let members): return members.reduce(0) { $0 &+ $1.0.utf8.count &+ stringBytes($1.1) }
        default: return 0
        }
    }

    private static func add(_ a: (Int, Int), _ b: (Int, Int)) -> (Int, Int) {
        (
            a.0.addingReportingOverflow(b.0).overflow ? Int.max : a.0 + b.0,
            a.1.addingReportingOverflow(b.1).overflow ? Int.max : a.1 + b.1
        )
    }

    /// The input estimate of an InvokeModel body (its JSON, or every byte if it is not JSON).
    static func invoke(_ body: Data) -> Int {
        guard let json = LuaJSON.parsedIfWithinParseBound(body) else { return tokens(textBytes: body.count) }
        return tokens(json)
    }

    /// The input estimate of a Converse request.
    static func converse(_ request: ConverseRequest) -> Int { converseMeasure(request).tokens }

    /// The input estimate of a Converse request and the bytes of its strings (what the
    /// request holds while it is in flight).
    static func converseMeasure(_ request: ConverseRequest) -> (tokens: Int, bytes: Int) {
        guard let json = try? JSONValueEncoder().encode(request) else { return (0, 0) }
        return converseMeasure(json)
    }

    /// The same measure of a request already encoded (`EncodedConverseRequest.json`).
    static func converseMeasure(_ json: JSONValue) -> (tokens: Int, bytes: Int) {
        (tokens(json), stringBytes(json))
    }
}
