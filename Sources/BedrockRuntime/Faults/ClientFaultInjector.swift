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
/// try faults.add(FaultRule(operation: "Converse", times: 2, error: "ThrottlingException"))
/// configuration.middlewares.append(faults)
/// ```
public final class ClientFaultInjector: NonBlockingTransportMiddleware, @unchecked Sendable {
    private let lock = Mutex(())
    private var matcher = FaultMatcher<ClientFaultRule, ClientFaultEffect>(idPrefix: "client-fault-")
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
    public func add(_ rule: ClientFaultRule) throws(FaultRuleError) -> String {
        let (condition, effect) = try rule.validated()
        return lock.withLock { _ in matcher.add(rule, condition: condition, effect: effect) }
    }

    /// Adds a shared rule (any effect but `timeout`) and returns its id.
    @discardableResult
    public func add(_ rule: FaultRule) throws(FaultRuleError) -> String { try add(ClientFaultRule(rule)) }

    /// Removes one rule; false when no rule has that id.
    @discardableResult
    public func remove(id: String) -> Bool { lock.withLock { _ in matcher.remove(id: id) } }

    /// Removes every rule (the injection log stays).
    public func clear() { lock.withLock { _ in matcher.removeAll() } }

    /// The rules still active, with their hit counts.
    public var active: [ActiveClientFault] { lock.withLock { _ in matcher.active() } }

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
        if lock.withLock({ _ in matcher.isEmpty }) { return try await next.send(request) }
        let target = RequestTarget(request)
        guard
            let (id, effect) = lock.withLock({ _ in
                matcher.match(
                    operation: target.operation, models: target.model.map { [$0] } ?? [], region: target.region)
            })
        else { return try await next.send(request) }
        let injection = FaultInjection(
            ruleId: id, operation: request.operation, model: target.model,
            region: target.region, effect: effect.description, date: Date())
        let observers = lock.withLock { _ -> [@Sendable (FaultInjection) -> Void] in
            log.append(injection)
            if log.count > logCapacity { log.removeFirst(log.count - logCapacity) }
            return self.observers
        }
        for observer in observers { observer(injection) }

        switch effect {
        case .timeout:
            throw BedrockError(
                kind: .transport(.firstByteTimeout),
                message: "no response in time (time-to-first-byte timeout injected by client fault rule \(id))")
        case let .fault(.error(code, retryAfterMs)):
            return Self.errorResponse(code, retryAfterMs: retryAfterMs, ruleId: id)
        case let .fault(.latency(milliseconds)):
            try await Task.sleep(for: .milliseconds(milliseconds))
            return try await next.send(request)
        case .fault(.stall):
            while true { try await Task.sleep(for: .seconds(3600)) }
        case .fault(.reset):
            throw BedrockError(
                kind: .transport(.connectionReset),
                message: "connection reset by peer (injected by client fault rule \(id))")
        case let .fault(.stream(fault)):
            let response = try await next.send(request)
            guard (200..<300).contains(response.status) else { return response }
            var rewritten = response
            rewritten.body = ResponseBody(
                StreamFaultBody(
                    upstream: response.body, fault: fault, ruleId: id,
                    isConverseStream: target.operation == .converseStream))
            return rewritten
        }
    }

    /// The HTTP answer the service gives for `code`: its status, `x-amzn-ErrorType`,
    /// `x-amzn-RequestId`, optional `x-amz-retry-after`, and a `{"message": …}` body.
    static func errorResponse(_ code: BedrockErrorCode, retryAfterMs: Int?, ruleId: String) -> IncomingResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "x-amzn-RequestId", value: UUID().uuidString.lowercased())
        headers.add(
            name: "x-amzn-ErrorType", value: "\(code.rawValue):http://internal.amazon.com/coral/com.amazon.bedrock/")
        if let retryAfterMs { headers.add(name: "x-amz-retry-after", value: String(retryAfterMs)) }
        headers.add(name: "x-quarry-injected-fault", value: ruleId)
        let body = EventStreamWriter.exceptionPayload(
            message: "\(code.serviceMessage) (injected by client fault rule \(ruleId))")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        return IncomingResponse(status: code.httpStatus, headers: headers, body: ResponseBody(bytes: body))
    }
}

/// A rule as the injector holds it: its id (`client-fault-N`), the rule, and how often it has fired.
public typealias ActiveClientFault = ActiveFaultRule<ClientFaultRule>

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
    /// The attempt's operation (`nil` for a name outside ``BedrockOperation``).
    var operation: BedrockOperation?
    var model: String?
    var region: String?

    init(_ request: OutgoingRequest) {
        operation = BedrockOperation(rawValue: request.operation)
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true)
        if let index = segments.firstIndex(of: "model"), index + 1 < segments.count {
            model = String(segments[index + 1]).removingPercentEncoding ?? String(segments[index + 1])
        }
        region =
            Self.signingRegion(request.headers.first(name: "Authorization"))
            ?? Self.endpointRegion(request.endpoint.host)
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
        guard let index = labels.firstIndex(where: { $0.hasPrefix("bedrock-runtime") }), index + 1 < labels.count else {
            return nil
        }
        return String(labels[index + 1])
    }
}
