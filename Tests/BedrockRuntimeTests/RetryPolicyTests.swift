import BedrockWire
import Testing

@testable import BedrockRuntime

/// The pure retry decision, case by case: real errors, real configurations, no network.
@Suite
struct RetryPolicyTests {
    static let throttled = BedrockError(kind: .service(.known(.throttling)), message: "slow down", httpStatus: 429)
    static let internalError = BedrockError(kind: .service(.known(.internalServer)), message: "oops", httpStatus: 500)
    static let badGateway = BedrockError(kind: .service(.unknown("HTTP502")), message: "bad gateway", httpStatus: 502)
    static let invalid = BedrockError(kind: .service(.known(.validation)), message: "bad input", httpStatus: 400)
    static let reset = BedrockError(kind: .transport(.connectionReset), message: "connection reset by peer")
    static let tls = BedrockError(kind: .transport(.tlsFailure), message: "handshake failed")

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var configuration = RetryConfiguration()
        var situation: RetryPolicy.Situation
        var expected: RetryDecision
        var quotaCost: Int?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "throttling: retried after the throttling base (1 s), costs 5 tokens",
            situation: .init(failure: throttled, attempt: 1, idempotent: true),
            expected: .retry(after: .seconds(1), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "a transient error: retried after the transient base (50 ms), costs 14 tokens",
            situation: .init(failure: internalError, attempt: 1, idempotent: true),
            expected: .retry(after: .milliseconds(50), reason: "transient service error (InternalServerException)"),
            quotaCost: 14),
        Case(
            name: "an unknown error with a 502: transient",
            situation: .init(failure: badGateway, attempt: 1, idempotent: true),
            expected: .retry(after: .milliseconds(50), reason: "transient HTTP status 502"), quotaCost: 14),
        Case(
            name: "a connection reset: retried",
            situation: .init(failure: reset, attempt: 1, idempotent: true),
            expected: .retry(after: .milliseconds(50), reason: "transport failure (ConnectionReset)"), quotaCost: 14),
        Case(
            name: "the backoff doubles per retry: the second throttling retry waits up to 2 s",
            situation: .init(failure: throttled, attempt: 2, idempotent: true),
            expected: .retry(after: .seconds(2), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "jitter: a random 0.25 waits a quarter of the ceiling",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, random: 0.25),
            expected: .retry(after: .milliseconds(250), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "a ValidationException is not retryable",
            situation: .init(failure: invalid, attempt: 1, idempotent: true),
            expected: .stop(.notRetryable("ValidationException is not retryable: the request must change first"))),
        Case(
            name: "a TLS failure is not retryable",
            situation: .init(failure: tls, attempt: 1, idempotent: true),
            expected: .stop(.notRetryable("TLS failures do not heal by retrying"))),
        Case(
            name: "not retryable wins over every other rule",
            situation: .init(failure: invalid, attempt: 3, idempotent: false, quotaTokens: 0, timeLeft: .zero),
            expected: .stop(.notRetryable("ValidationException is not retryable: the request must change first"))),
        Case(
            name: "an operation not safe to repeat is not retried",
            situation: .init(failure: throttled, attempt: 1, idempotent: false),
            expected: .stop(.notIdempotent)),
        Case(
            name: "the last attempt: all attempts used",
            situation: .init(failure: throttled, attempt: 3, idempotent: true),
            expected: .stop(.attemptsExhausted(maxAttempts: 3))),
        Case(
            name: "maxAttempts 1 (no retries): all attempts used after the first",
            configuration: .noRetries,
            situation: .init(failure: reset, attempt: 1, idempotent: true),
            expected: .stop(.attemptsExhausted(maxAttempts: 1))),
        Case(
            name: "the quota cannot pay for a throttling retry (4 < 5 tokens)",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, quotaTokens: 4),
            expected: .stop(.quotaExhausted)),
        Case(
            name: "the quota pays exactly for a throttling retry (5 tokens)",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, quotaTokens: 5),
            expected: .retry(after: .seconds(1), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "13 tokens pay for a throttling retry but not a transient one (14)",
            situation: .init(failure: internalError, attempt: 1, idempotent: true, quotaTokens: 13),
            expected: .stop(.quotaExhausted)),
        Case(
            name: "without the quota, an empty quota does not stop a retry and nothing is charged",
            configuration: RetryConfiguration(usesRetryQuota: false),
            situation: .init(failure: internalError, attempt: 1, idempotent: true, quotaTokens: 0),
            expected: .retry(after: .milliseconds(50), reason: "transient service error (InternalServerException)")),
        Case(
            name: "the wait would pass the deadline: stopped (the quota was charged first)",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, timeLeft: .milliseconds(500)),
            expected: .stop(.deadlineTooClose), quotaCost: 5),
        Case(
            name: "a wait that ends exactly at the deadline is too close",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, timeLeft: .seconds(1)),
            expected: .stop(.deadlineTooClose), quotaCost: 5),
        Case(
            name: "a wait that ends before the deadline is fine",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, timeLeft: .milliseconds(1001)),
            expected: .retry(after: .seconds(1), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "the quota is checked before the deadline",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, quotaTokens: 0, timeLeft: .zero),
            expected: .stop(.quotaExhausted)),
        Case(
            name: "the server's retry-after replaces the backoff",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, retryAfter: .milliseconds(1500)),
            expected: .retry(after: .milliseconds(1500), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "a retry-after longer than maxBackoff is cut to it",
            situation: .init(failure: throttled, attempt: 1, idempotent: true, retryAfter: .seconds(600)),
            expected: .retry(after: .seconds(20), reason: "throttling (ThrottlingException)"), quotaCost: 5),
        Case(
            name: "a retry-after that passes the deadline stops the call",
            situation: .init(
                failure: throttled, attempt: 1, idempotent: true, retryAfter: .seconds(5),
                timeLeft: .seconds(4)),
            expected: .stop(.deadlineTooClose), quotaCost: 5),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) {
        let verdict = RetryPolicy(configuration: c.configuration).decide(c.situation)
        #expect(verdict.decision == c.expected)
        #expect(verdict.quotaCost == c.quotaCost)
    }

    @Test("each decision reads in the attempt log as the log always showed it")
    func decisionText() {
        let texts: [(RetryDecision, String)] = [
            (
                .retry(after: .seconds(1), reason: "throttling (ThrottlingException)"),
                "retrying: throttling (ThrottlingException)"
            ),
            (
                .stop(.notRetryable("TLS failures do not heal by retrying")),
                "not retried: TLS failures do not heal by retrying"
            ),
            (.stop(.notIdempotent), "not retried: the request is not safe to repeat"),
            (.stop(.attemptsExhausted(maxAttempts: 3)), "not retried: all 3 attempts used"),
            (.stop(.quotaExhausted), "not retried: retry quota exhausted"),
            (.stop(.deadlineTooClose), "not retried: the wait would pass the total deadline"),
            (.stop(.cancelled), "cancelled"),
            (.stop(.inputNotReplayable), "not retried: a bidirectional stream's input cannot be replayed"),
        ]
        for (decision, text) in texts {
            #expect(decision.description == text)
            let record = AttemptRecord(number: 1, outcome: .serviceError, duration: .zero, retryDecision: decision)
            #expect(record.decision == text)
        }
    }

    @Test("the final error names the rule that stopped the call")
    func stoppedError() {
        let attempts = [AttemptRecord(number: 1, outcome: .serviceError, duration: .zero)]
        let exhausted = Self.throttled.stopped(by: .attemptsExhausted(maxAttempts: 3), attempts: attempts)
        #expect(exhausted.retryReason == "all 3 attempts used (throttling (ThrottlingException))")
        #expect(exhausted.isRetryable)
        #expect(exhausted.attempts == attempts)
        let quota = Self.throttled.stopped(by: .quotaExhausted, attempts: attempts)
        #expect(quota.retryReason == "retry quota exhausted")
        #expect(!quota.isRetryable)
        let deadline = Self.throttled.stopped(by: .deadlineTooClose, attempts: attempts)
        #expect(deadline.retryReason == "the total deadline would pass before the next attempt")
        let bidirectional = Self.reset.stopped(by: .inputNotReplayable, attempts: attempts)
        #expect(!bidirectional.isRetryable)
        #expect(bidirectional.retryReason == Self.reset.retryReason)
        let invalid = Self.invalid.stopped(by: .notRetryable(Self.invalid.retryReason), attempts: attempts)
        #expect(invalid.retryReason == Self.invalid.retryReason)
    }
}
