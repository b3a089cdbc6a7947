import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

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
///
/// One pipeline serves any AWS service this package calls: the configuration's
/// endpoint and authorizer say where requests go and how they are signed (Bedrock
/// Runtime, Bedrock's control plane, S3), and `errorFormat` how its errors read.
package final class RequestPipeline: Sendable {
    let configuration: BedrockRuntimeClient.Configuration
    /// How the service writes its error answers.
    let errorFormat: ServiceErrorFormat
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

    package init(
        configuration: BedrockRuntimeClient.Configuration, transport: any HTTPTransport,
        errorFormat: ServiceErrorFormat = .json,
        now: @escaping @Sendable () -> Date = { Date() },
        invocationId: @escaping @Sendable () -> String = InvocationId.make,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.configuration = configuration
        self.errorFormat = errorFormat
        self.budget = ResponseBudget(limit: configuration.limits.maxInFlightBytes)
        self.transport = MiddlewareTransport.chain(configuration.middlewares, around: transport)
        self.now = now
        self.invocationId = invocationId
        self.random = random
    }

    /// The signed request for one attempt, exactly as it goes to the transport.
    package func prepare(_ op: OperationRequest, attempt: Int, maxAttempts: Int, invocationId: String) async throws
        -> OutgoingRequest
    {
        var headers = HTTPHeaders()
        for (n, v) in op.headers { headers.add(name: n, value: v) }
        headers.add(name: "User-Agent", value: configuration.userAgent)
        let endpoint = op.endpoint ?? configuration.endpoint
        var request = OutgoingRequest(
            method: op.method, endpoint: endpoint, path: endpoint.basePath + op.path, query: op.query,
            headers: headers, body: op.body, operation: op.name)
        request.queryFlags = op.queryFlags
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
        request.headers.add(
            name: "amz-sdk-request", value: attempt == 1 ? "attempt=1" : "attempt=\(attempt); max=\(maxAttempts)")
        return request
    }

    /// Runs `op` with retries; `consume` reads a 2xx answer under the idle watchdog.
    /// `consume` may throw; its errors are classified and retried like any other.
    func perform<T: Sendable>(
        _ op: OperationRequest, options: CallOptions, hooks: AttemptHooks = AttemptHooks(),
        consume: @escaping @Sendable (IncomingResponse, ProgressWatchdog) async throws -> T
    ) async throws -> (T, [AttemptRecord], HTTPHeaders) {
        let call = CallPlan(op, options: options, configuration: configuration, invocationId: invocationId())
        var log = AttemptLog(operation: op.name, options: options, configuration: configuration)
        var refund: Int?  // the quota cost of the retry in flight, given back when it succeeds
        for number in 1...call.retry.maxAttempts {
            if Task.isCancelled { throw cancelled(log.records) }
            try await waitForTheRateLimiter(call, log.records)
            let started = ContinuousClock.now
            var failure: BedrockError
            var retryAfter: Duration?
            let (request, outcome) = await signAndSend(number, call, hooks: hooks, consume: consume)
            switch outcome {
            case let .notSent(error):
                throw signingFailure(error, log.records)
            case let .success(value, headers, status):
                countSuccess(call, refund: refund)
                log.append(
                    AttemptRecord(
                        number: number, outcome: .success, httpStatus: status,
                        requestId: headers.requestId, duration: ContinuousClock.now - started))
                return (value, log.records, headers)
            case let .serviceError(error, after):
                if call.retry.mode == .adaptive { rateLimiter.record(throttled: error.isThrottling) }
                (failure, retryAfter) = (error, after)
            case let .failed(error):
                failure = error
            case .cancelled:
                log.append(
                    AttemptRecord(
                        number: number, outcome: .cancelled, errorCode: "Cancelled",
                        duration: ContinuousClock.now - started, retryDecision: .stop(.cancelled)))
                throw cancelled(log.records)
            }
            failure = Self.scrub(hooks.adjust(failure), sentIn: request.map(Self.sentSecrets) ?? [])
            var record = AttemptRecord(number: number, failure: failure, duration: ContinuousClock.now - started)
            let decision = decideAfter(failure, attempt: number, retryAfter: retryAfter, call, refund: &refund)
            record.retryDecision = decision
            switch decision {
            case let .stop(reason):
                log.append(record)
                throw stopped(failure, by: reason, call, log.records)
            case let .retry(wait, _):
                record.waitBeforeNext = wait
                log.append(record)
                configuration.logger.debug(
                    "\(op.name) attempt \(number) failed with \(failure.code); retrying in \(wait)")
                try await sleepCancellable(wait, log.records)
            }
        }
        throw cancelled(log.records)  // unreachable: the loop returns or throws
    }

    /// Runs `op` with retries and reads its 2xx answer whole (at most
    /// `ResponseLimits.maxBodyBytes`): the call most operations of the package's
    /// other service clients make.
    /// `check` may find a 2xx answer to be an error (S3 answers CompleteMultipartUpload
    /// with 200 and an `<Error>` body): the attempt then fails with it, and is retried
    /// by the rules like any other failure.
    package func send(
        _ op: OperationRequest, options: CallOptions,
        check: @escaping @Sendable (_ status: Int, _ headers: HTTPHeaders, _ body: [UInt8]) -> BedrockError? = {
            _, _, _ in nil
        }
    ) async throws -> ServiceResponse {
        let limit = configuration.limits.maxBodyBytes
        let budget = self.budget
        let (collected, attempts, headers) = try await perform(op, options: options) { response, watchdog in
            let collected = try await RequestPipeline.collect(response, watchdog, limit: limit, budget: budget)
            if let failure = check(collected.status, collected.headers, collected.body) { throw failure }
            return collected
        }
        return ServiceResponse(
            status: collected.status, headers: headers, body: collected.body, attempts: attempts,
            requestId: headers.requestId)
    }

    /// In adaptive mode, waits for the rate limiter's token; the wait may not outlast
    /// the call's total deadline.
    private func waitForTheRateLimiter(_ call: CallPlan, _ attempts: [AttemptRecord]) async throws {
        guard call.retry.mode == .adaptive else { return }
        guard let wait = rateLimiter.reserve(within: call.deadline.map { $0 - ContinuousClock.now }) else {
            var e = BedrockError(
                kind: .transport(.totalTimeout),
                message: ProgressWatchdog.message(.totalTimeout, call.totalLimit?.seconds ?? 0)
                    + " (the adaptive rate limiter's wait would pass it)")
            e.attempts = attempts
            throw e
        }
        try await sleepCancellable(wait, attempts)
    }

    /// Signs attempt `number` and sends it, under one watchdog: signing may fetch
    /// credentials over the network, so it runs under the time-to-first-byte limit and
    /// the total deadline too, and the first-byte clock starts again once the request
    /// is signed (as if signing had its own watchdog, without a second timer and task
    /// group per attempt). A 2xx answer is read through `consume`, any other status
    /// through the error-body reader. Returns the signed request (nil when signing did
    /// not finish, the `.notSent` outcome: not an attempt, never retried).
    private func signAndSend<T: Sendable>(
        _ number: Int, _ call: CallPlan, hooks: AttemptHooks,
        consume: @escaping @Sendable (IncomingResponse, ProgressWatchdog) async throws -> T
    ) async -> (OutgoingRequest?, AttemptOutcome<T>) {
        let watchdog = ProgressWatchdog(limit: call.firstByte, failure: .firstByteTimeout)
        let transport = self.transport
        let errorBodyLimit = configuration.limits.maxErrorBodyBytes
        let errorFormat = self.errorFormat
        let signed = SignedRequest()
        do {
            let outcome: AttemptOutcome<T> = try await withWatchdog(
                watchdog, deadline: call.deadline, totalLimit: call.totalLimit
            ) {
                let request = try await self.prepare(
                    call.op, attempt: number, maxAttempts: call.retry.maxAttempts,
                    invocationId: call.invocationId)
                signed.set(request)
                hooks.willStart()
                watchdog.rearm(limit: call.firstByte, failure: .firstByteTimeout)
                let response = try await transport.send(request)
                watchdog.rearm(limit: call.idle, failure: .idleTimeout)
                guard (200..<300).contains(response.status) else {
                    return .serviceError(
                        try await ErrorResponse.read(
                            response, watchdog: watchdog, limit: errorBodyLimit, format: errorFormat),
                        ServiceErrorParser.retryAfter(response.headers))
                }
                return .success(try await consume(response, watchdog), response.headers, response.status)
            }
            return (signed.value, outcome)
        } catch {
            guard let request = signed.value else { return (nil, .notSent(error)) }
            if error is CancellationError || Task.isCancelled { return (request, .cancelled) }
            return (request, .failed(ErrorResponse.failure(from: error)))
        }
    }

    /// The call's error when signing an attempt failed (nothing was sent).
    private func signingFailure(_ error: any Error, _ attempts: [AttemptRecord]) -> any Error {
        if error is CancellationError || Task.isCancelled { return cancelled(attempts) }
        guard var e = error as? BedrockError else { return error }
        e.attempts = attempts
        return e
    }

    /// Feeds a success to the adaptive rate limiter and the retry quota.
    private func countSuccess(_ call: CallPlan, refund: Int?) {
        if call.retry.mode == .adaptive { rateLimiter.record(throttled: false) }
        if call.retry.usesRetryQuota { quota.release(refund: refund) }
    }

    /// The retry policy's decision after `failure`; a retry takes its cost from the
    /// quota (noted in `refund`), and stops when another call took the last tokens first.
    private func decideAfter(
        _ failure: BedrockError, attempt: Int, retryAfter: Duration?, _ call: CallPlan,
        refund: inout Int?
    ) -> RetryDecision {
        let verdict = RetryPolicy(configuration: call.retry).decide(
            RetryPolicy.Situation(
                failure: failure, attempt: attempt, idempotent: call.op.idempotent, retryAfter: retryAfter,
                quotaTokens: quota.available, timeLeft: call.deadline.map { $0 - ContinuousClock.now }, random: random()
            ))
        guard verdict.quotaCost != nil else { return verdict.decision }
        guard let cost = quota.acquire(throttling: failure.isThrottling) else { return .stop(.quotaExhausted) }
        refund = cost
        return verdict.decision
    }

    /// The call's final error once `reason` stopped it, with the whole attempt log.
    private func stopped(
        _ failure: BedrockError, by reason: RetryDecision.StopReason, _ call: CallPlan,
        _ attempts: [AttemptRecord]
    ) -> BedrockError {
        let e = failure.stopped(by: reason, attempts: attempts)
        configuration.logger.debug("\(call.op.name) failed: \(e.code) (\(RetryDecision.stop(reason)))")
        return e
    }

    /// `failure` with the credentials a request carried (`secrets`) removed from its texts.
    private static func scrub(_ failure: BedrockError, sentIn secrets: [String]) -> BedrockError {
        var e = failure
        e.message = ServiceTextScrubber.scrub(e.message, removing: secrets)
        e.resourceName = e.resourceName.map { ServiceTextScrubber.scrub($0, removing: secrets) }
        return e
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
    static func collect(
        _ response: IncomingResponse, _ watchdog: ProgressWatchdog, limit: Int,
        budget: ResponseBudget
    ) async throws -> CollectedResponse {
        func tooLarge(_ base: BedrockError) -> BedrockError {
            var e = base
            e.httpStatus = response.status
            e.requestId = response.headers.first(name: "x-amzn-RequestId")
            return e
        }
        // Made only when needed: a `BedrockError` scrubs its message, which is not free.
        func overLimit() -> BedrockError {
            BedrockError.responseTooLarge("the response body", limit: limit, setting: "maxBodyBytes")
        }
        let reservation = budget.reservation()
        var body: [UInt8] = []
        if let declared = response.headers.first(name: "Content-Length").flatMap({ Int($0) }), declared >= 0 {
            guard declared <= limit else { throw tooLarge(overLimit()) }
            // The capacity is allocated now, so it is reserved now.
            guard reservation.resize(to: declared) else { throw tooLarge(reservation.tooLarge) }
            body.reserveCapacity(declared)
        }
        for try await chunk in response.body {
            watchdog.touch()
            guard chunk.readableBytes <= limit - body.count else { throw tooLarge(overLimit()) }
            let needed = body.count + chunk.readableBytes
            if needed > body.capacity {
                // Grown here, by doubling up to the cap, so what is reserved is what is allocated.
                let capacity = max(needed, min(limit, body.capacity * 2))
                guard reservation.resize(to: capacity) else { throw tooLarge(reservation.tooLarge) }
                body.reserveCapacity(capacity)
            }
            body.append(contentsOf: chunk.readableBytesView)
        }
        return CollectedResponse(
            status: response.status, headers: response.headers, body: body, reservation: reservation)
    }
}

/// A 2xx answer read whole, with the call's attempts.
package struct ServiceResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]
    package var attempts: [AttemptRecord]
    package var requestId: String?
}

/// How a service writes its error answers.
package enum ServiceErrorFormat: Sendable {
    /// REST-JSON (Bedrock): `x-amzn-ErrorType` and a `{"message": …}` body.
    case json
    /// S3's XML: `<Error><Code>…</Code><Message>…</Message></Error>`.
    case s3XML

    /// The error in a 2xx S3 answer whose body is empty or whose root element is
    /// `<Error>`, as botocore reads CompleteMultipartUpload's (and CopyObject's): an
    /// HTTP 500 with the body's code and message, so it is retried; nil for any other body.
    package static func s3ErrorIn2xx(status: Int, headers: HTTPHeaders, body: [UInt8]) -> BedrockError? {
        var start = body.startIndex
        func skipSpace() {
            while start < body.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(body[start]) { start += 1 }
        }
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { start += 3 }  // a UTF-8 byte order mark
        skipSpace()
        if body[start...].starts(with: Array("<?xml".utf8)) {
            // The declaration ends at the first `?>` (bounded: the body is already capped).
            guard let end = body[start...].firstRange(of: Array("?>".utf8)) else { return nil }
            start = end.upperBound
            skipSpace()
        }
        if start == body.endIndex {
            return BedrockError(
                kind: .service(.known(.internalServer)),
                message: "the service answered HTTP \(status) with an empty body", httpStatus: 500,
                requestId: headers.requestId)
        }
        let rest = body[start...]
        guard rest.starts(with: Array("<Error>".utf8)) || rest.starts(with: Array("<Error ".utf8)) else { return nil }
        var error = ServiceErrorParser.parseS3(status: 500, headers: headers, body: Array(rest))
        error.message = "HTTP \(status) with an error: " + error.message
        return error
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

/// How one attempt ended.
enum AttemptOutcome<T: Sendable>: Sendable {
    /// A 2xx answer, read by the caller: the value, the headers and the status.
    case success(T, HTTPHeaders, Int)
    /// A non-2xx answer: the service's error and its `x-amz-retry-after`.
    case serviceError(BedrockError, Duration?)
    /// No usable answer: the transport failed, a watchdog fired, or reading failed.
    case failed(BedrockError)
    /// The calling task was cancelled.
    case cancelled
    /// Signing failed, timed out or was cancelled: nothing was sent (not an attempt).
    case notSent(any Error)
}

/// The request an attempt signed, once it is signed (shared with the watchdog's task group).
final class SignedRequest: Sendable {
    private let request = Mutex<OutgoingRequest?>(nil)
    func set(_ value: OutgoingRequest) { request.withLock { $0 = value } }
    var value: OutgoingRequest? { request.withLock { $0 } }
}

/// One call's settings, worked out once: its retry rules, time limits and deadline.
struct CallPlan: Sendable {
    let op: OperationRequest
    let retry: RetryConfiguration
    let firstByte: Duration
    let idle: Duration
    let totalLimit: Duration?
    let deadline: ContinuousClock.Instant?
    /// `amz-sdk-invocation-id`, the same on every attempt.
    let invocationId: String

    init(
        _ op: OperationRequest, options: CallOptions, configuration: BedrockRuntimeClient.Configuration,
        invocationId: String
    ) {
        self.op = op
        self.retry = options.retry ?? configuration.retry
        self.firstByte = options.firstByteTimeout ?? configuration.timeouts.firstByte
        self.idle = options.idleTimeout ?? configuration.timeouts.idle
        self.totalLimit = options.totalTimeout ?? configuration.timeouts.total
        self.deadline = totalLimit.map { ContinuousClock.now + $0 }
        self.invocationId = invocationId
    }
}

/// The attempts of one call so far; each one added is reported to the call's and the
/// client's attempt observers.
struct AttemptLog {
    let operation: String
    let options: CallOptions
    let configuration: BedrockRuntimeClient.Configuration
    private(set) var records: [AttemptRecord] = []

    init(operation: String, options: CallOptions, configuration: BedrockRuntimeClient.Configuration) {
        self.operation = operation
        self.options = options
        self.configuration = configuration
    }

    mutating func append(_ record: AttemptRecord) {
        records.append(record)
        options.attemptObserver?(record)
        configuration.attemptObserver?(operation, record)
    }
}
