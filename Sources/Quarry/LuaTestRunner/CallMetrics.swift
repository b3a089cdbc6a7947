import BedrockRuntime
import Foundation
import Histogram
import Synchronization

/// Collects the Bedrock calls a host makes (fed by `QuarryHost.addCallObserver`) and
/// summarises them: counts by outcome and error code, retries, tokens, and latency
/// percentiles from an HDR histogram. The test runner resets it before every test, so
/// `metrics.summary()` describes the running test.
public final class CallMetrics: @unchecked Sendable {
    private let lock = Mutex(())
    /// The calls kept; once `capacity` is reached, a ring whose oldest entry is at `oldest`.
    private var calls: [TestCallTrace] = []
    private var oldest = 0
    /// The most calls kept for one scope: past it the oldest is forgotten (in O(1): a
    /// long script's millionth call costs what its first did), and the summary covers the
    /// newest `capacity` calls.
    public let capacity: Int

    /// An empty collector.
    public init(capacity: Int = 100_000) { self.capacity = max(1, capacity) }

    /// Records one call.
    public func record(_ call: TestCallTrace) {
        lock.withLock { _ in
            if calls.count < capacity {
                calls.append(call)
            } else {
                calls[oldest] = call
                oldest = (oldest + 1) % capacity
            }
        }
    }

    /// Forgets every call (a new test starts).
    public func reset() {
        lock.withLock { _ in
            calls.removeAll(); oldest = 0
        }
    }

    /// The calls since the last reset, oldest first.
    public var recorded: [TestCallTrace] {
        let (ring, start) = lock.withLock { _ in (calls, oldest) }
        guard start > 0 else { return ring }
        var ordered: [TestCallTrace] = []
        ordered.reserveCapacity(ring.count)
        ordered.append(contentsOf: ring[start...])
        ordered.append(contentsOf: ring[..<start])
        return ordered
    }

    /// The summary of the calls since the last reset (counts and percentiles: the ring's
    /// order does not matter, so it is not copied into call order).
    public var summary: CallMetricsSummary { CallMetricsSummary(lock.withLock { _ in calls }) }
}

/// Counts, retries, tokens and latency percentiles of a set of calls.
public struct CallMetricsSummary: Sendable, Hashable {
    /// Calls made.
    public var calls = 0
    /// Calls that succeeded (perhaps after retries).
    public var succeeded = 0
    /// Calls that failed in the end.
    public var failed = 0
    /// Attempts over all calls.
    public var attempts = 0
    /// Attempts after the first, over all calls.
    public var retries = 0
    /// Final error codes and how often each ended a call.
    public var errors: [String: Int] = [:]
    /// Error codes of every failed attempt (retried or not) and how often each came.
    public var attemptErrors: [String: Int] = [:]
    /// Input tokens reported by the answers.
    public var inputTokens = 0
    /// Output tokens reported by the answers.
    public var outputTokens = 0
    /// Call latency in milliseconds: p50, p90, p99, max, mean (nil when there were no calls).
    public var latency: Latency?

    /// Percentiles of call latency, in milliseconds.
    public struct Latency: Sendable, Hashable {
        /// The median.
        public var p50: Double
        /// The 90th percentile.
        public var p90: Double
        /// The 99th percentile.
        public var p99: Double
        /// The slowest call.
        public var max: Double
        /// The average.
        public var mean: Double
    }

    /// A summary of `calls`.
    public init(_ calls: [TestCallTrace]) {
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        for call in calls {
            self.calls += 1
            attempts += call.attempts.count
            retries += call.retries
            if let code = call.errorCode {
                failed += 1
                errors[code, default: 0] += 1
            } else {
                succeeded += 1
            }
            for attempt in call.attempts { if let code = attempt.errorCode { attemptErrors[code, default: 0] += 1 } }
            inputTokens += call.inputTokens ?? 0
            outputTokens += call.outputTokens ?? 0
            // Microseconds, so sub-millisecond calls still register.
            _ = histogram.record(UInt64(max(1, (call.duration.reportMilliseconds * 1000).rounded())))
        }
        if histogram.totalCount > 0 {
            func ms(_ micros: UInt64) -> Double { (Double(micros) / 1000 * 1000).rounded() / 1000 }
            latency = Latency(
                p50: ms(histogram.valueAtPercentile(50)), p90: ms(histogram.valueAtPercentile(90)),
                p99: ms(histogram.valueAtPercentile(99)), max: ms(histogram.max),
                mean: (histogram.mean / 1000 * 1000).rounded() / 1000)
        }
    }

    /// The summary as the Lua table `metrics.summary()` returns.
    public var luaValue: LuaValue {
        var map: [String: LuaValue] = [
            "calls": .integer(Int64(calls)), "succeeded": .integer(Int64(succeeded)), "failed": .integer(Int64(failed)),
            "attempts": .integer(Int64(attempts)), "retries": .integer(Int64(retries)),
            "errors": .map(errors.mapValues { .integer(Int64($0)) }),
            "attempt_errors": .map(attemptErrors.mapValues { .integer(Int64($0)) }),
            "input_tokens": .integer(Int64(inputTokens)), "output_tokens": .integer(Int64(outputTokens)),
        ]
        if let latency {
            map["latency_ms"] = .map([
                "p50": .number(latency.p50), "p90": .number(latency.p90), "p99": .number(latency.p99),
                "max": .number(latency.max), "mean": .number(latency.mean),
            ])
        }
        return .map(map)
    }
}

/// The `metrics` Lua module: `metrics.summary()` (counts, retries, errors by code,
/// tokens, `latency_ms = {p50, p90, p99, max, mean}`), `metrics.calls()` (each call
/// with its attempt log) and `metrics.reset()`.
public struct MetricsModule: QuarryModule {
    /// The collector the module reads; the module adds it as the host's call observer.
    public let metrics: CallMetrics

    /// A module over `metrics` (a new collector by default).
    public init(metrics: CallMetrics = CallMetrics()) { self.metrics = metrics }

    /// Observes the host's calls and registers `metrics.*`.
    public func install(into host: QuarryHost) async throws {
        let metrics = self.metrics
        // `record` takes a short lock and nothing else: it may run on the script's thread.
        host.core.addObserver(bounded: true) { metrics.record($0) }
        try await host.registerSync("metrics.summary") { _ in [metrics.summary.luaValue] }
        try await host.registerSync("metrics.reset") { _ in
            metrics.reset(); return []
        }
        try await host.registerSync("metrics.calls") { arguments in
            [.array(try Self.callsTable(metrics.recorded, newest: arguments.first))]
        }
    }

    /// Table elements one call's entry may take in `metrics.calls()`: its own fields, and
    /// its attempt log's entries and their fields.
    static func elements(of call: TestCallTrace) -> Int { 1 + 9 + 9 * call.attempts.count }

    /// `metrics.calls([n])`: the calls (the newest `n` when given), oldest first. Counted
    /// before any is converted: a list past what one value may hold
    /// (`LuaConversionLimits.maxItems`) is refused with what to do instead, not built
    /// outside the memory cap and then dropped.
    static func callsTable(_ calls: [TestCallTrace], newest: LuaValue?) throws(ScriptError) -> [LuaValue] {
        var chosen = calls[...]
        if let newest, newest != .nil {
            chosen = calls.suffix(
                try ScriptNumber.count(newest, function: "metrics.calls", field: "n", in: 0...ScriptNumber.maxCount))
        }
        let limit = LuaConversionLimits().maxItems
        var needed = 0
        for call in chosen {
            needed += elements(of: call)
            guard needed <= limit else {
                throw ScriptError(
                    code: .validationError,
                    message:
                        "metrics.calls(): \(chosen.count) calls are more than one value may hold (\(limit) table "
                        + "elements); ask for the newest with metrics.calls(n), use metrics.summary(), "
                        + "or metrics.reset() between phases")
            }
        }
        return chosen.map { call in
            var map: [String: LuaValue] = [
                "operation": .string(call.operation), "region": .string(call.region),
                "duration_ms": .number(call.duration.reportMilliseconds),
                "attempts": .integer(Int64(call.attempts.count)),
                "attempt_log": AttemptLog.lua(call.attempts),
            ]
            if let model = call.model { map["model"] = .string(model) }
            if let code = call.errorCode { map["error"] = .string(code) }
            if let tokens = call.inputTokens { map["input_tokens"] = .integer(Int64(tokens)) }
            if let tokens = call.outputTokens { map["output_tokens"] = .integer(Int64(tokens)) }
            return .map(map)
        }
    }
}
