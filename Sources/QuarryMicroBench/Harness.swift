import Foundation

/// One benchmark's outcome: throughput and the spread of the time one operation takes.
struct BenchResult {
    /// What was measured, e.g. `sigv4.sign`.
    var name: String
    /// Operations per second over the whole measuring window.
    var opsPerSecond: Double
    /// Nanoseconds per operation at the 50th, 90th and 99th percentile of the samples.
    var p50: Double, p90: Double, p99: Double
    /// Nanoseconds per operation of the fastest sample (the least disturbed by other
    /// processes on a loaded machine).
    var fastest: Double = 0
    /// Operations measured (warm-up excluded).
    var operations: Int
    /// Extra figures the benchmark reports (MB/s, events/s, ratios).
    var notes: [String] = []

    var line: String {
        let base = String(
            format: "%-34@ %12.0f ops/s   p50 %9@  p90 %9@  p99 %9@",
            name as NSString, opsPerSecond,
            Self.time(p50) as NSString, Self.time(p90) as NSString, Self.time(p99) as NSString)
        return notes.isEmpty ? base : base + "   " + notes.joined(separator: "  ")
    }

    static func time(_ ns: Double) -> String {
        if ns >= 1e6 { return String(format: "%.2f ms", ns / 1e6) }
        if ns >= 1e3 { return String(format: "%.2f µs", ns / 1e3) }
        return String(format: "%.0f ns", ns)
    }
}

/// A plain measuring harness: warm up for a while, then time batches of operations
/// until the window is over; each batch gives one per-operation sample.
struct Harness {
    var warmUp: Duration = .milliseconds(300)
    var window: Duration = .seconds(2)

    /// Measures `body`, which runs `batch` operations per call.
    /// With `QUARRY_BENCH_ROW` set (for profiling one row under `perf`), every other row
    /// is skipped.
    func measure(_ name: String, batch: Int, _ body: () throws -> Void) rethrows -> BenchResult {
        if let only = ProcessInfo.processInfo.environment["QUARRY_BENCH_ROW"], only != name {
            return BenchResult(name: name, opsPerSecond: 0, p50: 1, p90: 1, p99: 1, fastest: 1, operations: 0)
        }
        let clock = ContinuousClock()
        let warmEnd = clock.now + warmUp
        while clock.now < warmEnd { try body() }
        var samples: [Double] = []
        let start = clock.now
        let end = start + window
        var operations = 0
        while clock.now < end {
            let t0 = clock.now
            try body()
            samples.append(Self.nanoseconds(clock.now - t0) / Double(batch))
            operations += batch
        }
        return Self.result(name, samples: samples, operations: operations, elapsed: clock.now - start)
    }

    /// Measures an async `body`, which runs `batch` operations per call.
    func measureAsync(_ name: String, batch: Int, _ body: () async throws -> Void) async rethrows -> BenchResult {
        let clock = ContinuousClock()
        let warmEnd = clock.now + warmUp
        while clock.now < warmEnd { try await body() }
        var samples: [Double] = []
        let start = clock.now
        let end = start + window
        var operations = 0
        while clock.now < end {
            let t0 = clock.now
            try await body()
            samples.append(Self.nanoseconds(clock.now - t0) / Double(batch))
            operations += batch
        }
        return Self.result(name, samples: samples, operations: operations, elapsed: clock.now - start)
    }

    static func nanoseconds(_ d: Duration) -> Double {
        let (s, a) = d.components
        return Double(s) * 1e9 + Double(a) / 1e9
    }

    static func result(_ name: String, samples: [Double], operations: Int, elapsed: Duration) -> BenchResult {
        let sorted = samples.sorted()
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
        }
        return BenchResult(
            name: name, opsPerSecond: Double(operations) / (nanoseconds(elapsed) / 1e9),
            p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), fastest: pct(0), operations: operations)
    }
}

/// Keeps a value alive and observed so the optimiser cannot drop the work that made it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// Process CPU time (user + system) in nanoseconds.
func processCPUNanoseconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func ns(_ t: timeval) -> Double { Double(t.tv_sec) * 1e9 + Double(t.tv_usec) * 1e3 }
    return ns(usage.ru_utime) + ns(usage.ru_stime)
}
