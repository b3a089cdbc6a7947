import Synchronization

/// The shared retry budget of one client (the SDKs' "retry quota").
///
/// Starts with 500 tokens. A retry after throttling costs 5, after any other failure
/// 14; a successful retried attempt gives its cost back, a success on the first
/// attempt adds 1. When the quota cannot pay for a retry, the call fails at once
/// instead of adding load to a service that is already failing.
public final class RetryQuota: Sendable {
    public static let initialTokens = 500
    public static let throttlingCost = 5
    public static let otherCost = 14
    public static let successIncrement = 1

    private let tokens: Mutex<Int>
    private let capacity: Int

    public init(capacity: Int = RetryQuota.initialTokens) {
        self.capacity = capacity
        self.tokens = Mutex(capacity)
    }

    /// Tokens left.
    public var available: Int { tokens.withLock { $0 } }

    /// What one retry costs: less after throttling than after other failures.
    public static func cost(throttling: Bool) -> Int { throttling ? throttlingCost : otherCost }

    /// Takes the cost of one retry; returns the cost taken, or nil when the quota is
    /// exhausted.
    public func acquire(throttling: Bool) -> Int? {
        let cost = Self.cost(throttling: throttling)
        return tokens.withLock { tokens in
            guard tokens >= cost else { return nil }
            tokens -= cost
            return cost
        }
    }

    /// Records a success: gives back `refund` (the cost of the retry that succeeded),
    /// or adds the small success increment when the call needed no retry.
    public func release(refund: Int?) {
        tokens.withLock { tokens in
            tokens = min(capacity, tokens + (refund ?? Self.successIncrement))
        }
    }
}
