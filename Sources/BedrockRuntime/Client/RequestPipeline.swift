import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A 2xx answer with its body read in full.
struct CollectedResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The body's share of the client's in-flight budget, given back when this is dropped.
    var reservation: ResponseBudget.Reservation
}

/// Runs one call: builds, signs and sends each attempt, enforces the deadlines,
/// classifies failures, and retries by the rules of `RetryConfiguration` (backoff,
/// `x-amz-retry-after`, retry quota, adaptive rate limiting). Records every attempt.
final class RequestPipeline: Sendable {
    let configuration: BedrockRuntimeClient.Configuration
    let transport: any HTTPTransport
    let quota = RetryQuota()
    let rateLimiter = AdaptiveRateLimiter()
    /// Bytes all calls hold at once (`ResponseLimits.maxInFlightBytes`).
    let budget: ResponseBudget
    /// The clock used for signing (fixed in conformance tests).
    let now: @Sendable () -> Date
    /// Makes `amz-sdk-invocation-id` values.
    let invocationId: @Sendable () -> String
    /// Random numbers in [0, 1] for jitter.
    let random: @Sendable () -> Double

    init(configuration: BedrockRuntimeClient.Configuration, transport: any HTTPTransport,
         now: @escaping @Sendable () -> Date = { Date() },
         invocationId: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() },
         random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }) {
        self.configuration = configuration
        self.budget = ResponseBudget(limit: configuration.limits.maxInFlightBytes)
        self.transport = MiddlewareTransport.chain(configuration.middlewares, around: transport)
        self.now = now
        self.invocationId = invocationId
        self.random = random
    }

    /// The signed request for one attempt, exactly as it goes to the transport.
    func prepare(_ op: OperationRequest, attempt: Int, maxAttempts: Int, invocationId: String) async throws -> OutgoingRequest {
        var headers = HTTPHeaders()
        for (n, v) in op.headers { headers.add(name: n, value: v) }
        headers.add(name: "User-Agent", value: configuration.userAgent)
        var request = OutgoingRequest(method: op.method, endpoint: configuration.endpoint,
                                      path: configuration.endpoint.basePath + op.path, query: op.query,
                                      headers: headers, body: op.body, operation: op.name)
        do {
            try await configuration.authorizer.authorize(&request, at: now())
            ServiceTextScrubber.remember(sentTokens: Self.sentTokens(request))
        } catch let e as BedrockError {
            throw e
        } catch {
            throw BedrockError.invalidRequest("could not authorize the request: \(error)")
        }
        // Added after signing, as botocore does: never part of the signature. botocore
        // sends `attempt=1` on the first try and `attempt=N; max=M` on retries.
        request.headers.add(name: "amz-sdk-invocation-id", value: invocationId)
        request.headers.add(name: "amz-sdk-request", value: attempt == 1 ? "attempt=1" : "attempt=\(attempt); max=\(maxAttempts)")
        return request
    }

    /// Runs `op` with retries; `consume` reads a 2xx answer under the idle watchdog.
    /// `consume` may throw; its errors are classified and retried like any other.
    func perform<T: Sendable>(
        _ op: OperationRequest, options: CallOptions, hooks: AttemptHooks = AttemptHooks(),
        consume: @escaping @Sendable (IncomingResponse, ProgressWatchdog) async throws -> T
    ) async throws -> (T, [AttemptRecord], HTTPHeaders) {
        let retry = options.retry ?? configuration.retry
        let timeouts = configuration.timeouts
        let firstByte = options.firstByteTimeout ?? timeouts.firstByte
        let idle = options.idleTimeout ?? timeouts.idle
        let totalLimit = options.totalTimeout ?? timeouts.total
        let started = ContinuousClock.now
        let deadline = totalLimit.map { started + $0 }
        let id = invocationId()
        var attempts: [AttemptRecord] = []
        var pendingRefund: Int?

        func observe(_ record: AttemptRecord) {
            options.attemptObserver?(record)
            configuration.attemptObserver?(op.name, record)
        }

        let errorBodyLimit = configuration.limits.maxErrorBodyBytes
        for number in 1...retry.maxAttempts {
            if Task.isCancelled { throw cancelled(attempts) }
            if retry.mode == .adaptive {
                // The limiter's wait is part of the call: it may not outlast the total deadline.
                guard let wait = rateLimiter.reserve(within: deadline.map { $0 - ContinuousClock.now }) else {
                    var e = BedrockError(kind: .transport(.totalTimeout),
                                         message: ProgressWatchdog.message(.totalTimeout, totalLimit?.seconds ?? 0)
                                             + " (the adaptive rate limiter's wait would pass it)")
                    e.attempts = attempts
                    throw e
                }
                try await sleepCancellable(wait, attempts)
            }
            // Signing runs under the call's deadlines (the time-to-first-byte limit and the
            // total): it may fetch credentials over the network. A signing failure is not
            // an attempt (nothing was sent) and is not retried.
            let request: OutgoingRequest
            do {
                let signing = ProgressWatchdog(limit: firstByte, failure: .firstByteTimeout)
                request = try await withWatchdog(signing, deadline: deadline, totalLimit: totalLimit) {
                    try await self.prepare(op, attempt: number, maxAttempts: retry.maxAttempts, invocationId: id)
                }
            } catch {
                if error is CancellationError || Task.isCancelled { throw cancelled(attempts) }
                guard var e = error as? BedrockError else { throw error }
                e.attempts = attempts
                throw e
            }
            hooks.willStart()
            let attemptStart = ContinuousClock.now
            var failure: BedrockError
            var retryAfter: Duration?
            do {
                let watchdog = ProgressWatchdog(limit: firstByte, failure: .firstByteTimeout)
                let transport = self.transport
                let outcome: AttemptOutcome<T> = try await withWatchdog(watchdog, deadline: deadline, totalLimit: totalLimit) {
                    let response = try await transport.send(request)
                    watchdog.rearm(limit: idle, failure: .idleTimeout)
                    guard (200..<300).contains(response.status) else {
                        var body: [UInt8] = []
                        for try await chunk in response.body {
                            watchdog.touch()
                            body.append(contentsOf: chunk.readableBytesView.prefix(max(0, errorBodyLimit - body.count)))
                            if body.count >= errorBodyLimit { break }
                        }
                        return .serviceError(ServiceErrorParser.parse(status: response.status, headers: response.headers, body: body),
                                             ServiceErrorParser.retryAfter(response.headers))
                    }
                    return .success(try await consume(response, watchdog), response.headers, response.status)
                }
                switch outcome {
                case let .success(value, headers, status):
                    if retry.mode == .adaptive { rateLimiter.record(throttled: false) }
                    if retry.usesRetryQuota { quota.release(refund: pendingRefund) }
                    let record = AttemptRecord(number: number, outcome: .success, httpStatus: status,
                                               requestId: headers.requestId,
                                               duration: ContinuousClock.now - attemptStart)
                    attempts.append(record)
                    observe(record)
                    return (value, attempts, headers)
                case let .serviceError(error, after):
                    failure = error
                    retryAfter = after
                    if retry.mode == .adaptive { rateLimiter.record(throttled: error.isThrottling) }
                }
            } catch {
                if error is CancellationError || Task.isCancelled {
                    let record = AttemptRecord(number: number, outcome: .cancelled, errorCode: "Cancelled",
                                               duration: ContinuousClock.now - attemptStart, decision: "cancelled")
                    attempts.append(record)
                    observe(record)
                    throw cancelled(attempts)
                }
                failure = (TransportErrorMapper.map(error) as? BedrockError)
                    ?? BedrockError(kind: .transport(.other), message: "transport error: \(error)")
            }

            failure = hooks.adjust(failure)
            failure.message = ServiceTextScrubber.scrub(failure.message, removing: Self.sentSecrets(request))
            failure.resourceName = failure.resourceName.map { ServiceTextScrubber.scrub($0, removing: Self.sentSecrets(request)) }
            let outcomeKind: AttemptRecord.Outcome = switch failure.kind {
            case .service: .serviceError
            case .transport: .transportError
            case .cancelled: .cancelled
            default: .invalidResponse
            }
            var record = AttemptRecord(number: number, outcome: outcomeKind, errorCode: failure.code,
                                       httpStatus: failure.httpStatus, requestId: failure.requestId,
                                       duration: ContinuousClock.now - attemptStart)

            func stop(_ why: String) -> BedrockError {
                record.decision = why
                attempts.append(record)
                observe(record)
                var e = failure
                e.attempts = attempts
                configuration.logger.debug("\(op.name) failed: \(e.code) (\(why))")
                return e
            }

            guard failure.isRetryable else { throw stop("not retried: \(failure.retryReason)") }
            guard op.idempotent else { throw stop("not retried: the request is not safe to repeat") }
            guard number < retry.maxAttempts else {
                var e = stop("not retried: all \(retry.maxAttempts) attempts used")
                e.retryReason = "all \(retry.maxAttempts) attempts used (\(failure.retryReason))"
                throw e
            }
            if retry.usesRetryQuota {
                guard let cost = quota.acquire(throttling: failure.isThrottling) else {
                    var e = stop("not retried: retry quota exhausted")
                    e.isRetryable = false
                    e.retryReason = "retry quota exhausted"
                    throw e
                }
                pendingRefund = cost
            }
            var wait = retry.backoff(retry: number, throttling: failure.isThrottling, random: random())
            if let retryAfter { wait = min(retryAfter, retry.maxBackoff) }
            if let deadline, ContinuousClock.now + wait >= deadline {
                var e = stop("not retried: the wait would pass the total deadline")
                e.retryReason = "the total deadline would pass before the next attempt"
                throw e
            }
            record.waitBeforeNext = wait
            record.decision = "retrying: \(failure.retryReason)"
            attempts.append(record)
            observe(record)
            configuration.logger.debug("\(op.name) attempt \(number) failed with \(failure.code); retrying in \(wait)")
            try await sleepCancellable(wait, attempts)
        }
        throw cancelled(attempts)  // unreachable: the loop returns or throws
    }

    private func sleepCancellable(_ wait: Duration, _ attempts: [AttemptRecord]) async throws {
        guard wait > .zero else { return }
        do { try await Task.sleep(for: wait) } catch { throw cancelled(attempts) }
    }

    /// The long-lived tokens `request` carried (session token, bearer token), which a
    /// server could echo in any later answer.
    static func sentTokens(_ request: OutgoingRequest) -> [String] {
        var out: [String] = []
        if let token = request.headers.first(name: "x-amz-security-token") { out.append(token) }
        if let authorization = request.headers.first(name: "authorization"), authorization.hasPrefix("Bearer ") {
            out.append(String(authorization.dropFirst("Bearer ".count)))
        }
        return out
    }

    /// The credential values `request` carried (session token, Authorization value,
    /// bearer token): what a server could echo back in an error message.
    static func sentSecrets(_ request: OutgoingRequest) -> [String] {
        var out: [String] = []
        if let token = request.headers.first(name: "x-amz-security-token") { out.append(token) }
        if let authorization = request.headers.first(name: "authorization") {
            out.append(authorization)
            if authorization.hasPrefix("Bearer ") { out.append(String(authorization.dropFirst("Bearer ".count))) }
        }
        return out
    }

    private func cancelled(_ attempts: [AttemptRecord]) -> BedrockError {
        var e = BedrockError(kind: .cancelled, message: "the call was cancelled")
        e.attempts = attempts
        return e
    }

    /// Reads a whole body under the watchdog, failing with `ResponseTooLarge` once it
    /// passes `limit` bytes (or when `Content-Length` already says it will), or when
    /// the client's calls in flight together would pass `budget`'s limit.
    static func collect(_ response: IncomingResponse, _ watchdog: ProgressWatchdog, limit: Int,
                        budget: ResponseBudget) async throws -> CollectedResponse {
        func tooLarge(_ base: BedrockError) -> BedrockError {
            var e = base
            e.httpStatus = response.status
            e.requestId = response.headers.first(name: "x-amzn-RequestId")
            return e
        }
        let overLimit = BedrockError.responseTooLarge("the response body", limit: limit, setting: "maxBodyBytes")
        let reservation = budget.reservation()
        var body: [UInt8] = []
        if let declared = response.headers.first(name: "Content-Length").flatMap({ Int($0) }), declared >= 0 {
            guard declared <= limit else { throw tooLarge(overLimit) }
            // The capacity is allocated now, so it is reserved now.
            guard reservation.resize(to: declared) else { throw tooLarge(reservation.tooLarge) }
            body.reserveCapacity(declared)
        }
        for try await chunk in response.body {
            watchdog.touch()
            guard chunk.readableBytes <= limit - body.count else { throw tooLarge(overLimit) }
            let needed = body.count + chunk.readableBytes
            if needed > body.capacity {
                // Grown here, by doubling up to the cap, so what is reserved is what is allocated.
                let capacity = max(needed, min(limit, body.capacity * 2))
                guard reservation.resize(to: capacity) else { throw tooLarge(reservation.tooLarge) }
                body.reserveCapacity(capacity)
            }
            body.append(contentsOf: chunk.readableBytesView)
        }
        return CollectedResponse(status: response.status, headers: response.headers, body: body, reservation: reservation)
    }
}


/// Hooks a caller of `perform` can give: streams use them to treat failures after
/// output by their stream retry policy.
struct AttemptHooks: Sendable {
    /// Called before each attempt is sent.
    var willStart: @Sendable () -> Void = {}
    /// May change a failure (its retryability) before the retry decision.
    var adjust: @Sendable (BedrockError) -> BedrockError = { $0 }
}

/// How one attempt ended when an answer arrived.
enum AttemptOutcome<T: Sendable>: Sendable {
    case success(T, HTTPHeaders, Int)
    case serviceError(BedrockError, Duration?)
}
