/// What the client does after a failed attempt: try again after a wait, or stop and
/// say which rule stopped it. Attempt records keep it; `description` is the text the
/// attempt log shows (`retrying: throttling (ThrottlingException)`,
/// `not retried: all 3 attempts used`).
public enum RetryDecision: Sendable, Hashable, CustomStringConvertible {
    /// Try again after `after`; `reason` is the failure's `retryReason` (why it may heal).
    case retry(after: Duration, reason: String)
    /// Give up.
    case stop(StopReason)

    /// Why a call stopped after a failed attempt.
    public enum StopReason: Sendable, Hashable {
        /// The failure does not heal by retrying; the text is its `retryReason`.
        case notRetryable(String)
        /// The operation is not safe to repeat.
        case notIdempotent
        /// Every attempt the configuration allows has been made.
        case attemptsExhausted(maxAttempts: Int)
        /// The client's retry quota cannot pay for another attempt.
        case quotaExhausted
        /// The wait before the next attempt would pass the call's total deadline.
        case deadlineTooClose
        /// The calling task was cancelled.
        case cancelled
        /// A bidirectional stream's input was consumed by the attempt and cannot be sent again.
        case inputNotReplayable
    }

    public var description: String {
        switch self {
        case let .retry(_, reason): "retrying: \(reason)"
        case let .stop(reason):
            switch reason {
            case let .notRetryable(why): "not retried: \(why)"
            case .notIdempotent: "not retried: the request is not safe to repeat"
            case let .attemptsExhausted(maxAttempts): "not retried: all \(maxAttempts) attempts used"
            case .quotaExhausted: "not retried: retry quota exhausted"
            case .deadlineTooClose: "not retried: the wait would pass the total deadline"
            case .cancelled: "cancelled"
            case .inputNotReplayable: "not retried: a bidirectional stream's input cannot be replayed"
            }
        }
    }
}

/// The retry rules of a `RetryConfiguration` as one pure function: given what is known
/// after a failed attempt, it says whether to retry and after how long, or which rule
/// stops the call. It reads no clock and changes no state; the pipeline passes the
/// quota's tokens, the time left and a random number in, and spends the quota cost
/// the answer names.
struct RetryPolicy: Sendable {
    var configuration: RetryConfiguration

    /// What is known after a failed attempt.
    struct Situation: Sendable {
        /// The failure, after the caller's hooks adjusted it.
        var failure: BedrockError
        /// The attempt that failed (1 for the first).
        var attempt: Int
        /// Whether the operation is safe to repeat.
        var idempotent: Bool
        /// The server's `x-amz-retry-after`, when it sent one.
        var retryAfter: Duration? = nil
        /// Tokens left in the retry quota (unused when the configuration has no quota).
        var quotaTokens: Int = RetryQuota.initialTokens
        /// Time left before the call's total deadline; nil when it has none.
        var timeLeft: Duration? = nil
        /// A number in [0, 1] for the backoff's jitter.
        var random: Double = 1
    }

    /// A decision and the retry-quota tokens it takes.
    struct Verdict: Sendable, Hashable {
        var decision: RetryDecision
        /// Tokens to take from the quota: set once the quota rule has passed (on a retry,
        /// and on a stop for the deadline, which is checked after the quota is charged).
        var quotaCost: Int?
    }

    /// Decides, checking in order: retryable, safe to repeat, attempts left, quota, and
    /// whether the wait (the backoff, or the server's retry-after up to `maxBackoff`)
    /// ends before the deadline.
    func decide(_ s: Situation) -> Verdict {
        guard s.failure.isRetryable else { return Verdict(decision: .stop(.notRetryable(s.failure.retryReason))) }
        guard s.idempotent else { return Verdict(decision: .stop(.notIdempotent)) }
        guard s.attempt < configuration.maxAttempts else {
            return Verdict(decision: .stop(.attemptsExhausted(maxAttempts: configuration.maxAttempts)))
        }
        var cost: Int?
        if configuration.usesRetryQuota {
            let price = RetryQuota.cost(throttling: s.failure.isThrottling)
            guard s.quotaTokens >= price else { return Verdict(decision: .stop(.quotaExhausted)) }
            cost = price
        }
        let wait =
            s.retryAfter.map { min($0, configuration.maxBackoff) }
            ?? configuration.backoff(retry: s.attempt, throttling: s.failure.isThrottling, random: s.random)
        if let timeLeft = s.timeLeft, wait >= timeLeft {
            return Verdict(decision: .stop(.deadlineTooClose), quotaCost: cost)
        }
        return Verdict(decision: .retry(after: wait, reason: s.failure.retryReason), quotaCost: cost)
    }
}

extension BedrockError {
    /// This failure as the call's final error after `reason` stopped it: the reason it
    /// gives for not retrying names the rule, and `attempts` is the whole log.
    func stopped(by reason: RetryDecision.StopReason, attempts: [AttemptRecord]) -> BedrockError {
        var e = self
        e.attempts = attempts
        switch reason {
        case let .attemptsExhausted(maxAttempts):
            e.retryReason = "all \(maxAttempts) attempts used (\(retryReason))"
        case .quotaExhausted:
            e.isRetryable = false
            e.retryReason = "retry quota exhausted"
        case .deadlineTooClose:
            e.retryReason = "the total deadline would pass before the next attempt"
        case .inputNotReplayable:
            e.isRetryable = false
        case .notRetryable, .notIdempotent, .cancelled:
            break
        }
        return e
    }
}
