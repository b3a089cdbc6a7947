/// How failed requests are retried (`AWS_RETRY_MODE` / `retry_mode`).
public enum RetryMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// botocore's old mode; treated like `standard` here, kept so configs that name it load.
    case legacy
    /// Exponential backoff with jitter and a retry quota.
    case standard
    /// `standard` plus client-side rate limiting after throttling.
    case adaptive
}
