import Foundation
import Synchronization

/// The client-side rate limiter of `adaptive` retry mode, with botocore's constants.
///
/// Off until the first throttling answer; from then on every attempt takes a token
/// from a bucket whose fill rate follows a CUBIC curve: cut to 70 % of the measured
/// send rate on throttling (β = 0.7), then grown back along
/// `0.4 · (t − K)³ + W_max` (C = 0.4), never above twice the measured rate. The
/// measured rate is smoothed (0.8) over half-second buckets; the fill rate never
/// drops below 0.5 requests per second.
public final class AdaptiveRateLimiter: @unchecked Sendable {
    static let scaleConstant = 0.4
    static let beta = 0.7
    static let maxRateAdjustScale = 2.0
    static let minFillRate = 0.5
    static let smoothing = 0.8
    static let timeBucketRange = 0.5

    private let lock = Mutex(())
    private let clock: @Sendable () -> Double

    // Token bucket.
    private var enabled = false
    private var fillRate: Double
    private var maxCapacity: Double
    private var currentCapacity: Double
    private var lastRefill: Double?

    // CUBIC calculator.
    private var wMax: Double
    private var k: Double
    private var lastFail: Double

    // Rate clocker.
    private var measuredRate = 0.0
    private var lastBucket: Double
    private var requestCount = 0

    /// `clock` gives seconds on a monotonic scale (replaceable for tests).
    public init(clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.clock = clock
        let now = clock()
        fillRate = 1; maxCapacity = 1; currentCapacity = 1
        wMax = 0.5
        k = 0
        lastFail = now
        lastBucket = now.rounded(.down)
        k = Self.zeroPoint(wMax)
    }

    private static func zeroPoint(_ wMax: Double) -> Double {
        pow(wMax * (1 - beta) / scaleConstant, 1.0 / 3.0)
    }

    /// Whether the limiter has started limiting (after a throttling answer).
    public var isEnabled: Bool { lock.withLock { _ in enabled } }

    /// The current send rate limit in requests per second.
    public var currentRate: Double { lock.withLock { _ in fillRate } }

    /// How long the next request must wait for a token (zero when it may go now);
    /// takes the token.
    public func reserve() -> Duration {
        reserve(within: nil) ?? .zero
    }

    /// Like `reserve()`, but with a `limit` takes no token and returns nil when the wait
    /// would be `limit` or longer (the call's deadline would pass while waiting). A wait
    /// that is not finite is nil too (and no wait for the unlimited form).
    func reserve(within limit: Duration?) -> Duration? {
        lock.withLock { _ in
            guard enabled else { return .zero }
            let now = clock()
            refill(now)
            if currentCapacity >= 1 {
                currentCapacity -= 1
                return .zero
            }
            let seconds = (1 - currentCapacity) / fillRate
            guard seconds.isFinite else { return nil }
            if let limit {
                let limitSeconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
                guard seconds < limitSeconds else { return nil }
            }
            currentCapacity -= 1
            return .seconds(seconds)
        }
    }

    /// Waits for a token before sending.
    public func acquire() async throws {
        let wait = reserve()
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    /// Feeds the answer of an attempt to the limiter.
    public func record(throttled: Bool) {
        lock.withLock { _ in
            let now = clock()
            let rate = updateMeasuredRate(now)
            let newRate: Double
            if throttled {
                let rateToUse = enabled ? min(rate, fillRate) : rate
                wMax = rateToUse
                k = Self.zeroPoint(wMax)
                lastFail = now
                newRate = rateToUse * Self.beta
                enabled = true
            } else {
                newRate = Self.scaleConstant * pow(now - lastFail - k, 3) + wMax
            }
            setMaxRate(min(newRate, Self.maxRateAdjustScale * rate), now: now)
        }
    }

    private func updateMeasuredRate(_ now: Double) -> Double {
        let scale = 1 / Self.timeBucketRange
        let bucket = (now * scale).rounded(.down) / scale
        requestCount += 1
        if bucket > lastBucket {
            let current = Double(requestCount) / (bucket - lastBucket)
            measuredRate = current * Self.smoothing + measuredRate * (1 - Self.smoothing)
            requestCount = 0
            lastBucket = bucket
        }
        return measuredRate
    }

    private func setMaxRate(_ value: Double, now: Double) {
        refill(now)
        fillRate = max(value, Self.minFillRate)
        maxCapacity = value >= 1 ? value : 1
        currentCapacity = min(currentCapacity, maxCapacity)
    }

    private func refill(_ now: Double) {
        if let last = lastRefill {
            currentCapacity = min(maxCapacity, currentCapacity + (now - last) * fillRate)
        }
        lastRefill = now
    }
}
