/// What happened on one attempt of a call, for resilience tests and diagnostics.
public struct AttemptRecord: Sendable, Hashable, CustomStringConvertible {
    /// How the attempt ended.
    public enum Outcome: String, Sendable, Hashable {
        case success
        case serviceError
        case transportError
        case invalidResponse
        case cancelled

        /// How an attempt that failed with `failure` ended.
        init(_ failure: BedrockError) {
            self =
                switch failure.kind {
                case .service: .serviceError
                case .transport: .transportError
                case .cancelled: .cancelled
                default: .invalidResponse
                }
        }
    }

    /// 1 for the first attempt.
    public var number: Int
    public var outcome: Outcome
    /// The error's code (`ThrottlingException`, `ConnectionReset`, ...), nil on success.
    public var errorCode: String?
    /// HTTP status, when an answer came.
    public var httpStatus: Int?
    /// `x-amzn-RequestId` of the answer.
    public var requestId: String?
    /// How long the attempt took.
    public var duration: Duration
    /// The wait before the next attempt; nil when there was none.
    public var waitBeforeNext: Duration?
    /// Whether the client retried or stopped after this attempt, and why; nil on success.
    public var retryDecision: RetryDecision?
    /// `retryDecision` in words, as the attempt log shows it (`retrying: throttling (…)`).
    public var decision: String? { retryDecision?.description }

    public init(
        number: Int, outcome: Outcome, errorCode: String? = nil, httpStatus: Int? = nil, requestId: String? = nil,
        duration: Duration, waitBeforeNext: Duration? = nil, retryDecision: RetryDecision? = nil
    ) {
        self.number = number; self.outcome = outcome; self.errorCode = errorCode; self.httpStatus = httpStatus
        self.requestId = requestId; self.duration = duration; self.waitBeforeNext = waitBeforeNext
        self.retryDecision = retryDecision
    }

    /// The record of an attempt that ended in `failure`, its outcome named by the failure's kind.
    init(number: Int, failure: BedrockError, duration: Duration) {
        self.init(
            number: number, outcome: Outcome(failure), errorCode: failure.code, httpStatus: failure.httpStatus,
            requestId: failure.requestId, duration: duration)
    }

    public var description: String {
        var s = "attempt \(number): \(outcome.rawValue)"
        if let errorCode { s += " \(errorCode)" }
        if let httpStatus { s += " HTTP \(httpStatus)" }
        if let waitBeforeNext { s += ", waited \(waitBeforeNext)" }
        if let decision { s += " (\(decision))" }
        return s
    }
}
