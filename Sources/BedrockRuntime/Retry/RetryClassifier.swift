import BedrockWire

/// Decides whether a failure may succeed on a new attempt, and says why.
///
/// Retried: Throttling, ModelNotReady, ServiceUnavailable, InternalServer, any
/// 500/502/503/504 or 429 answer, connection failures and per-attempt timeouts. Not
/// retried: the other service errors (they need a change of input or account),
/// TLS failures, an exhausted total deadline, bad input and cancellation.
public enum RetryClassifier {
    /// HTTP statuses retried whatever the error code says.
    public static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    /// Classifies a failure.
    public static func classify(kind: BedrockError.Kind, httpStatus: Int?) -> (retryable: Bool, reason: String) {
        switch kind {
        case let .service(.known(code)):
            if code.isThrottling { return (true, "throttling (\(code.rawValue))") }
            if code.isTransient { return (true, "transient service error (\(code.rawValue))") }
            return (false, "\(code.rawValue) is not retryable: the request must change first")
        case let .service(.unknown(name)):
            if let s = httpStatus, transientStatuses.contains(s) { return (true, "transient HTTP status \(s)") }
            if httpStatus == 429 { return (true, "throttling (HTTP 429)") }
            return (false, "\(name) is not a known transient error")
        case let .transport(failure):
            switch failure {
            case .tlsFailure: return (false, "TLS failures do not heal by retrying")
            case .totalTimeout: return (false, "the call's total deadline has passed")
            default: return (true, "transport failure (\(failure.rawValue))")
            }
        case .invalidResponse:
            if let s = httpStatus, transientStatuses.contains(s) { return (true, "transient HTTP status \(s)") }
            return (false, "the response could not be understood")
        case .invalidRequest: return (false, "the request is invalid")
        case .missingCredentials: return (false, "credentials must be configured first")
        case .incompleteStream: return (false, "the stream ended early; see the stream retry policy")
        case .responseTooLarge: return (false, "the answer is larger than the client accepts")
        case .cancelled: return (false, "the call was cancelled")
        }
    }
}
