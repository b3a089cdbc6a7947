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
    private var admitted: Set<ClientSettings> = []
    private var observers: [@Sendable (CallRecord) -> Void] = []
    private var callsUsed = 0
    private var tokensCommitted = 0
    private var tokensReserved = 0
    private var requestBytesHeld = 0
    private var model: String?
    private var streams: [ObjectIdentifier: StreamPump] = [:]

    let errorOutput: @Sendable ([UInt8]) -> Void
    let input: (@Sendable () async -> [UInt8]?)?
    private var errorBytes = 0
    /// The audit log, when the host keeps one (see `HostCore+Audit.swift`).
    let auditor: AuditWriter?
    let auditPrincipals = AuditPrincipalCache()

    init(target: QuarryTarget, policy: HostPolicy, logger: Logger, defaultModel: String?,
         errorOutput: @escaping @Sendable ([UInt8]) -> Void, input: (@Sendable () async -> [UInt8]?)?,
         auditor: AuditWriter? = nil) {
        self.auditor = auditor
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

    /// Admits `settings` as one of the host's clients: at most `policy.maxClients`
    /// distinct settings (the target's own, `ClientSettings()`, is always admitted).
    func admit(_ settings: ClientSettings) throws(ScriptError) {
        lock.lock()
        defer { lock.unlock() }
        if settings == ClientSettings() || admitted.contains(settings) { return }
        guard admitted.count < policy.maxClients else {
            throw ScriptError(code: .limitExceeded,
                              message: "bedrock.client: this host keeps at most \(policy.maxClients) distinct clients; reuse a client instead of making new ones")
        }
        admitted.insert(settings)
    }

    /// The client for `settings`, made once and reused.
    func client(_ settings: ClientSettings) throws -> BedrockRuntimeClient {
        try admit(settings)
        lock.lock()
        if let c = clients[settings] { lock.unlock(); return c }
        lock.unlock()
        // The calls in flight hold at most twice the sandbox's memory (issue 23).
        let made = try target.makeClient(settings, maxInFlightBytes: QuarryTarget.maxInFlightBytesForScripts(memoryBytes: policy.limits.memoryBytes))
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

    /// Counts a call against the budgets before it is sent: the token reservation is
    /// the estimated input (`inputTokens`, see `TokenEstimate`) plus the output cap, and is
    /// settled to the real usage afterwards.
    ///
    /// `requestBytes` (what the request holds in Swift while the call runs) counts against
    /// the sandbox's memory limit together with every other call in flight: each call's
    /// values crossed within the limit, but many calls at once could each hold that much.
    func reserve(maxTokens: Int?, inputTokens: Int = 0, requestBytes: Int = 0) throws(ScriptError) -> Reservation {
        lock.lock()
        defer { lock.unlock() }
        if let budget = policy.callBudget, callsUsed >= budget {
            throw ScriptError(code: .policyViolation, message: "the call budget of \(budget) calls is used up")
        }
        let bytes = max(0, requestBytes)
        let cap = policy.limits.memoryBytes
        guard requestBytesHeld <= cap, bytes <= cap - requestBytesHeld else {
            throw ScriptError(code: .limitExceeded,
                              message: "sandbox limit: memory: calls in flight hold \(requestBytesHeld) bytes of requests and this one needs \(bytes) more (limit \(cap) bytes); lower the concurrency")
        }
        var reserve = 0
        if let budget = policy.tokenBudget {
            let output = max(0, maxTokens ?? policy.assumedMaxTokens)
            let input = max(0, inputTokens)
            reserve = output.addingReportingOverflow(input).overflow ? Int.max : output + input
            let committed = tokensCommitted + tokensReserved
            guard committed <= budget, reserve <= budget - committed else {
                // Without a cap the call reserves the assumed maximum: say how to ask for less.
                let hint = maxTokens == nil
                    ? "; the call sets no max_tokens, so \(output) are assumed: set inference.max_tokens (or max_tokens in an invoke body) to what the answer needs"
                    : ""
                throw ScriptError(code: .policyViolation,
                                  message: "the token budget of \(budget) would be exceeded: \(committed) used or reserved, this call may use \(reserve) (about \(input) input + \(output) maxTokens)\(hint)")
            }
            tokensReserved += reserve
        }
        callsUsed += 1
        requestBytesHeld += bytes
        return Reservation(tokens: reserve, requestBytes: bytes)
    }

    /// What `reserve` took: tokens against the budget, request bytes against the memory limit.
    struct Reservation: Sendable {
        var tokens: Int
        var requestBytes: Int
    }

    /// Replaces a reservation by what the call used (never negative), and gives back its
    /// request bytes.
    func settle(_ reservation: Reservation, used: Int) {
        lock.lock()
        requestBytesHeld -= reservation.requestBytes
        let reserved = reservation.tokens
        tokensReserved -= reserved
        let (sum, overflow) = tokensCommitted.addingReportingOverflow(max(0, used))
        tokensCommitted = overflow ? Int.max : sum
        lock.unlock()
    }

    /// What the budgets allow still (for `bedrock.budget()`).
    var budgetReport: LuaValue {
        lock.lock()
        defer { lock.unlock() }
        var m: [String: LuaValue] = ["calls_used": .integer(Int64(callsUsed)), "tokens_used": .integer(Int64(tokensCommitted)),
                                     "tokens_reserved": .integer(Int64(tokensReserved))]
        if let b = policy.callBudget { m["call_budget"] = .integer(Int64(b)) }
        if let b = policy.tokenBudget { m["token_budget"] = .integer(Int64(b)) }
        return .map(m)
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

    /// Cancels every stream still open (the end of a run, or Ctrl-C), recording `reason`.
    func cancelStreams(_ reason: StreamPump.StopReason = .cancelled) {
        lock.lock()
        let open = Array(streams.values)
        streams.removeAll()
        lock.unlock()
        for pump in open { pump.cancel(reason) }
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
           (0...countLimit).contains(input), (0...countLimit).contains(output) {
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

    private static func stringBytes(_ json: JSONValue) -> Int {
        switch json {
        case .string(let s): return s.utf8.count
        case .array(let items): return items.reduce(0) { $0 &+ stringBytes($1) }
        case .object(let members): return members.reduce(0) { $0 &+ stringBytes($1.1) }
        default: return 0
        }
    }

    private static func add(_ a: (Int, Int), _ b: (Int, Int)) -> (Int, Int) {
        (a.0.addingReportingOverflow(b.0).overflow ? Int.max : a.0 + b.0,
         a.1.addingReportingOverflow(b.1).overflow ? Int.max : a.1 + b.1)
    }

    /// The input estimate of an InvokeModel body (its JSON, or every byte if it is not JSON).
    static func invoke(_ body: Data) -> Int {
        guard let json = try? JSONParser.parse(body) else { return tokens(textBytes: body.count) }
        return tokens(json)
    }

    /// The input estimate of a Converse request.
    static func converse(_ request: ConverseRequest) -> Int { converseMeasure(request).tokens }

    /// The input estimate of a Converse request and the bytes of its strings (what the
    /// request holds while it is in flight).
    static func converseMeasure(_ request: ConverseRequest) -> (tokens: Int, bytes: Int) {
        guard let json = try? JSONValueEncoder().encode(request) else { return (0, 0) }
        return (tokens(json), stringBytes(json))
    }
}
