/// How a client retries failed attempts.
public struct RetryConfiguration: Sendable, Hashable {
    public var mode: RetryMode
    /// Attempts in all, including the first (1 = no retries).
    public var maxAttempts: Int
    /// Backoff base after throttling (the service asked us to slow down).
    public var throttlingBaseDelay: Duration
    /// Backoff base after other transient failures.
    public var baseDelay: Duration
    /// No single wait is longer than this.
    public var maxBackoff: Duration
    /// Whether retries draw from a shared token quota, so a failing service is not
    /// hammered by every caller at once.
    public var usesRetryQuota: Bool

    /// The defaults: standard mode, 3 attempts, 1 s / 50 ms bases, 20 s cap, quota on.
    public static let `default` = RetryConfiguration()

    /// No retries at all.
    public static let noRetries = RetryConfiguration(maxAttempts: 1)

    public init(
        mode: RetryMode = .standard, maxAttempts: Int = 3, throttlingBaseDelay: Duration = .seconds(1),
        baseDelay: Duration = .milliseconds(50), maxBackoff: Duration = .seconds(20), usesRetryQuota: Bool = true
    ) {
        self.mode = mode
        self.maxAttempts = max(1, maxAttempts)
        self.throttlingBaseDelay = throttlingBaseDelay
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
        self.usesRetryQuota = usesRetryQuota
    }

    /// The full-jitter wait before retry number `retry` (1 = the first retry):
    /// a random point in `[0, min(cap, base * 2^(retry-1))]`.
    public func backoff(retry: Int, throttling: Bool, random: Double) -> Duration {
        let base = throttling ? throttlingBaseDelay : baseDelay
        let exponent = Double(1 << min(max(retry - 1, 0), 30))
        let ceiling = min(base.seconds * exponent, maxBackoff.seconds)
        return .seconds(ceiling * min(max(random, 0), 1))
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
