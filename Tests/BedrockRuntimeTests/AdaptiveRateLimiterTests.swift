import BedrockWire
import Foundation
import NIOCore
import Testing

@testable import BedrockRuntime

/// Adaptive rate limiter (botocore's CUBIC constants)
@Suite struct AdaptiveRateLimiterTests {
    final class FakeClock: @unchecked Sendable {
        private let lock = NSLock()
        private var t: Double = 1000
        func now() -> Double { lock.withLock { t } }
        func advance(_ s: Double) { lock.withLock { t += s } }
    }

    @Test("off until throttled; then limits to 70 % of the measured rate and recovers along the cubic")
    func cubicBehaviour() {
        let clock = FakeClock()
        let limiter = AdaptiveRateLimiter(clock: { clock.now() })
        #expect(!limiter.isEnabled)
        #expect(limiter.reserve() == .zero)
        // 10 successful requests per second for 3 seconds builds a measured rate.
        for _ in 0..<30 {
            clock.advance(0.1)
            limiter.record(throttled: false)
        }
        #expect(!limiter.isEnabled)
        limiter.record(throttled: true)
        #expect(limiter.isEnabled)
        let cut = limiter.currentRate
        #expect(cut > 0.5 && cut < 10 * 0.7 + 0.01)
        // Right after throttling, a burst must wait.
        var waited = false
        for _ in 0..<20 where limiter.reserve() > .zero { waited = true }
        #expect(waited)
        // Successes over time raise the rate again.
        for _ in 0..<40 {
            clock.advance(0.25)
            limiter.record(throttled: false)
        }
        #expect(limiter.currentRate > cut)
    }

    @Test("backoff is full jitter, doubling per retry and capped")
    func backoffSchedule() {
        let r = RetryConfiguration()
        #expect(r.backoff(retry: 1, throttling: true, random: 1) == .seconds(1))
        #expect(r.backoff(retry: 3, throttling: true, random: 1) == .seconds(4))
        #expect(r.backoff(retry: 10, throttling: true, random: 1) == .seconds(20))
        #expect(r.backoff(retry: 1, throttling: false, random: 1) == .milliseconds(50))
        #expect(r.backoff(retry: 2, throttling: false, random: 0.5) == .milliseconds(50))
        #expect(r.backoff(retry: 4, throttling: false, random: 0) == .zero)
    }
}
