import BedrockWire
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Client-side fault injection: a `TransportMiddleware` that makes attempts fail the
/// way Bedrock and networks fail, inside this client, so resilience tests work against
/// any target (real Bedrock included) without touching it.
///
/// Errors are answered as real HTTP error responses (the service's status, headers and
/// `{"message": …}` body), so the client's own parsing, classification and retry run
/// exactly as for a service error. Transport faults throw the `BedrockError` the
/// transport would. Stream faults rewrite the response's event frames.
///
/// Rules are added and cleared at any time from any thread; they match in the order
/// added, first hit wins, and each hit is logged in `injections`.
///
/// ```swift
/// let faults = ClientFaultInjector()
/// try faults.add(ClientFaultRule(operation: "Converse", times: 2, error: "ThrottlingException"))
/// configuration.middlewares.append(faults)
/// ```
public final class ClientFaultInjector: TransportMiddleware, @unchecked Sendable {
    private struct Entry {
        var fault: ActiveClientFault
        var effect: ClientFaultEffect
        var expiry: ContinuousClock.Instant?
        var generator: SeededGenerator
    }

    private let lock = Mutex(())
    private var entries: [Entry] = []
    private var counter = 0
    private var log: [FaultInjection] = []
    private var observers: [@Sendable (FaultInjection) -> Void] = []
    /// How many injections `injections` keeps (the oldest are dropped first).
    public let logCapacity: Int

    /// An injector with no rules.
    public init(logCapacity: Int = 10_000) {
        self.logCapacity = max(1, logCapacity)
    }

    /// Adds a rule and returns its id (`client-fault-N`); throws when the rule is invalid.
    @discardableResult
    public func add(_ rule: ClientFaultRule) throws(ClientFaultRuleError) -> String {
        let effect = try rule.effect()
        return lock.withLock { _ in
            counter += 1
            let id = "client-fault-\(counter)"
            entries.append(Entry(fault: ActiveClientFault(id: id, rule: rule, hits: 0), effect: effect,
                                 expiry: rule.seconds.map { .now + .milliseconds(Int64($0 * 1000)) },
                                 generator: SeededGenerator(seed: rule.seed ?? StableHash.of(id))))
            return id
        }
    }

    /// Removes one rule; false when no rule has that id.
    @discardableResult
    public func remove(id: String) -> Bool {
        lock.withLock { _ in
            let before = entries.count
            entries.removeAll { $0.fault.id == id }
            return entries.count != before
        }
    }

    /// Removes every rule (the injection log stays).
    public func clear() { lock.withLock { _ in entries.removeAll() } }

    /// The rules still active, with their hit counts.
    public var active: [ActiveClientFault] {
        let now = ContinuousClock.now
        return lock.withLock { _ in
            entries.removeAll { $0.expiry.map { $0 <= now } ?? false }
            return entries.map(\.fault)
        }
    }

    /// Every injection so far (up to `logCapacity`), oldest first.
    public var injections: [FaultInjection] { lock.withLock { _ in log } }

    /// Forgets the injection log.
    public func clearInjections() { lock.withLock { _ in log.removeAll() } }

    /// Calls `observer` on every injection (from the calling task's thread).
    public func addObserver(_ observer: @escaping @Sendable (FaultInjection) -> Void) {
        lock.withLock { _ in observers.append(observer) }
    }

    // MARK: Middleware

    /// Applies the first matching rule to the attempt, or passes it on unchanged.
    public func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
        // With no rules (every call of an ordinary run) the attempt is not even read.
        if lock.withLock({ _ in entries.isEmpty }) { return try await next.send(request) }
        let target = RequestTarget(request)
        guard let (id, effect) = match(target) else { return try await next.send(request) }
        let injection = FaultInjection(ruleId: id, operation: request.operation, model: target.model,
                                       region: target.region, effect: effect.description, date: Date())
        let observers = lock.withLock { _ -> [@Sendable (FaultInjection) -> Void] in
            log.append(injection)
            if log.count > logCapacity { log.removeFirst(log.count - logCapacity) }
            return self.observers
        }
        for observer in observers { observer(injection) }

        switch effect {
        case let .error(code, retryAfterMs):
            return Self.errorResponse(code, retryAfterMs: retryAfterMs, ruleId: id)
        case let .latency(milliseconds):
            try await Task.sleep(for: .milliseconds(milliseconds))
            return try await next.send(request)
        case .stall:
            while true { try await Task.sleep(for: .seconds(3600)) }
        case .reset:
            throw BedrockError(kind: .transport(.connectionReset),
                               message: "connection reset by peer (injected by client fault rule \(id))")
        case .timeout:
            throw BedrockError(kind: .transport(.firstByteTimeout),
                               message: "no response in time (time-to-first-byte timeout injected by client fault rule \(id))")
        case let .stream(fault):
            let response = try await next.send(request)
            guard (200..<300).contains(response.status) else { return response }
            var rewritten = response
            rewritten.body = ResponseBody(StreamFaultBody(upstream: response.body, fault: fault, ruleId: id,
                                                          isConverseStream: request.operation == "ConverseStream"))
            return rewritten
        }
    }

    /// The effect for an attempt, consuming one use of the rule that fires.
    private func match(_ target: RequestTarget) -> (String, ClientFaultEffect)? {
        let now = ContinuousClock.now
        return lock.withLock { _ -> (String, ClientFaultEffect)? in
            entries.removeAll { $0.expiry.map { $0 <= now } ?? false }
            for index in entries.indices {
                let rule = entries[index].fault.rule
                if let wanted = rule.operation, wanted != target.operation { continue }
                if let wanted = rule.model, wanted != target.model { continue }
                if let wanted = rule.region, wanted != target.region { continue }
                if case .stream = entries[index].effect, !ClientFaultRule.streamingOperations.contains(target.operation) { continue }
                if let probability = rule.probability, probability < 1,
                   entries[index].generator.nextUnit() >= probability { continue }
                entries[index].fault.hits += 1
                let hit = (entries[index].fault.id, entries[index].effect)
                if let times = rule.times, entries[index].fault.hits >= times { entries.remove(at: index) }
                return hit
            }
            return nil
        }
    }

    /// The HTTP answer the service gives for `code`: its status, `x-amzn-ErrorType`,
    /// `x-amzn-RequestId`, optional `x-amz-retry-after`, and a `{"message": …}` body.
    static func errorResponse(_ code: BedrockErrorCode, retryAfterMs: Int?, ruleId: String) -> IncomingResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "x-amzn-RequestId", value: UUID().uuidString.lowercased())
        headers.add(name: "x-amzn-ErrorType", value: "\(code.rawValue):http://internal.amazon.com/coral/com.amazon.bedrock/")
        if let retryAfterMs { headers.add(name: "x-amz-retry-after", value: String(retryAfterMs)) }
        headers.add(name: "x-quarry-injected-fault", value: ruleId)
        let body = EventStreamWriter.exceptionPayload(message: "\(serviceMessage(code)) (injected by client fault rule \(ruleId))")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        return IncomingResponse(status: code.httpStatus, headers: headers, body: ResponseBody(bytes: body))
    }

    /// The kind of message the service sends with each error.
    static func serviceMessage(_ code: BedrockErrorCode) -> String {
        switch code {
        case .throttling: "Too many requests, please wait before trying again."
        case .modelNotReady: "Model is not ready for inference. Wait and try your request again."
        case .serviceUnavailable: "Bedrock is unable to process your request."
        case .internalServer: "The server encountered an internal error while processing the request."
        case .serviceQuotaExceeded: "Your request exceeds the service quota for your account."
        case .validation: "The input fails to satisfy the constraints specified by the service."
        case .accessDenied: "You don't have access to the model with the specified model ID."
        case .resourceNotFound: "The requested resource could not be found."
        case .modelTimeout: "Model has timed out in processing the request. Try your request again."
        case .modelError: "The model returned an error while processing the request."
        case .modelStreamError: "The model returned an error in the middle of the stream."
        case .conflict: "The request conflicts with the current state of the resource."
        }
    }
}

/// A rule as the injector holds it: its id, the rule, and how often it has fired.
public struct ActiveClientFault: Sendable, Equatable {
    /// The id the rule was given when added (`client-fault-N`).
    public let id: String
    /// The rule as added.
    public let rule: ClientFaultRule
    /// How many attempts it has hit so far.
    public var hits: Int
}

/// One fault the injector applied to one attempt: for attempt logs and reports.
public struct FaultInjection: Sendable, Hashable, CustomStringConvertible {
    /// The rule that fired.
    public var ruleId: String
    /// The attempt's operation.
    public var operation: String
    /// The attempt's model id, when the path names one.
    public var model: String?
    /// The attempt's region, when it could be told.
    public var region: String?
    /// What was done (`ThrottlingException`, `latency 200ms`, `stream truncate`).
    public var effect: String
    /// When it was applied.
    public var date: Date

    /// An injection record from its parts.
    public init(ruleId: String, operation: String, model: String?, region: String?, effect: String, date: Date) {
        self.ruleId = ruleId; self.operation = operation; self.model = model; self.region = region
        self.effect = effect; self.date = date
    }

    public var description: String {
        "\(ruleId): \(effect) on \(operation)" + (model.map { " \($0)" } ?? "") + (region.map { " in \($0)" } ?? "")
    }
}

/// What a rule matches on, read from an outgoing attempt.
struct RequestTarget {
    var operation: String
    var model: String?
    var region: String?

    init(_ request: OutgoingRequest) {
        operation = request.operation
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true)
        if let index = segments.firstIndex(of: "model"), index + 1 < segments.count {
            model = String(segments[index + 1]).removingPercentEncoding ?? String(segments[index + 1])
        }
        region = Self.signingRegion(request.headers.first(name: "Authorization")) ?? Self.endpointRegion(request.endpoint.host)
    }

    /// The region of a SigV4 credential scope: `Credential=AKID/20240101/us-east-1/bedrock/aws4_request`.
    static func signingRegion(_ authorization: String?) -> String? {
        guard let authorization, let range = authorization.range(of: "Credential=") else { return nil }
        let scope = authorization[range.upperBound...].prefix { $0 != "," && $0 != " " }.split(separator: "/")
        return scope.count >= 5 ? String(scope[2]) : nil
    }

    /// The region in `bedrock-runtime.us-east-1.amazonaws.com` (or the FIPS form).
    static func endpointRegion(_ host: String) -> String? {
        let labels = host.split(separator: ".")
        guard let index = labels.firstIndex(where: { $0.hasPrefix("bedrock-runtime") }), index + 1 < labels.count else { return nil }
        return String(labels[index + 1])
    }
}

