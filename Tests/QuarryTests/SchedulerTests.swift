import BedrockEmulator
import Foundation
import Quarry
import Testing

/// Waits until `parties` callers have arrived, then lets them all go: proves that
/// coroutines run at the same time (run one after another, the first would wait alone
/// until its deadline).
final class Rendezvous: @unchecked Sendable {
    private let lock = NSLock()
    private let parties: Int
    private var arrived = 0
    private var waiting: [Int: CheckedContinuation<Bool, Never>] = [:]
    init(parties: Int) { self.parties = parties }

    func arrive(deadline: Duration = .seconds(10)) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            lock.lock()
            arrived += 1
            let ticket = arrived
            if arrived >= parties {
                let all = Array(waiting.values)
                waiting.removeAll()
                lock.unlock()
                all.forEach { $0.resume(returning: true) }
                c.resume(returning: true)
            } else {
                waiting[ticket] = c
                lock.unlock()
                Task {
                    try? await Task.sleep(for: deadline)
                    self.timeOut(ticket)
                }
            }
        }
    }

    private func timeOut(_ ticket: Int) {
        lock.lock()
        let c = waiting.removeValue(forKey: ticket)
        lock.unlock()
        c?.resume(returning: false)
    }
}

/// The coroutine scheduler: sequential-looking scripts, concurrent calls, ordered
/// results, errors per item, limits across branches, cancellation.
@Suite struct SchedulerTests {
    @Test func parallelRunsBranchesAtTheSameTime() async throws {
        try await HostHarness.with { h in
            let meet = Rendezvous(parties: 3)
            try await h.host.register("meet") { _ in [.boolean(await meet.arrive())] }
            let r = try await h.value(
                "return {parallel(function() return meet() end, function() return meet() end, function() return meet() end)}"
            )
            #expect(r == .array([true, true, true]))
        }
    }

    @Test func mapKeepsOrderAndRespectsConcurrency() async throws {
        try await HostHarness.with { h in
            let inFlight = Counter()
            try await h.host.register("work") { args in
                inFlight.enter()
                try await Task.sleep(for: .milliseconds(20))
                inFlight.leave()
                return [args.first ?? .nil]
            }
            let r = try await h.value(
                """
                local items = {}
                for i = 1, 12 do items[i] = i end
                return map(items, function(x, i) assert(x == i); return work(x * 10) end, {concurrency = 3})
                """)
            #expect(r == .array((1...12).map { .integer(Int64($0 * 10)) }))
            #expect(inFlight.peak <= 3)
            #expect(inFlight.peak >= 2)
        }
    }

    @Test func failuresAreReportedPerItem() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local results, errors = map({1, 2, 3, 4}, function(x)
                  if x % 2 == 0 then error({code='Odd', message='even ' .. x}) end
                  return x
                end, {settle = true})
                local ok, e = pcall(map, {1, 2, 3}, function(x) if x == 2 then error('boom') end return x end)
                return {r1=results[1], r3=results[3], e2=errors[2].message, e4=errors[4].message, none=errors[1] == nil,
                        code=e.code, failed=e.failed, keep=e.results[1], msg=e.message}
                """)
            #expect(r.field("r1") == 1 && r.field("r3") == 3)
            #expect(r.field("e2") == "even 2" && r.field("e4") == "even 4")
            #expect(r.field("none") == true)
            #expect(r.field("code") == "ParallelFailure")
            #expect(r.field("failed") == 1)
            #expect(r.field("keep") == 1)
            #expect(r.field("msg").stringValue?.contains("boom") == true)
        }
    }

    @Test func bedrockCallsRunConcurrentlyInsideMap() async throws {
        try await HostHarness.with { h in
            let records = RecordList()
            h.host.addCallObserver { records.append($0) }
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", latencyMs: 300))
            let r = try await h.value(
                """
                local answers = map({'a', 'b', 'c', 'd'}, function(p)
                  return bedrock.converse{model='\(haiku)', messages=p}.text
                end, {concurrency = 4})
                return #answers
                """)
            #expect(r == 4)
            let calls = records.all
            #expect(calls.count == 4)
            // Every call was in flight while every other was: their intervals overlap.
            let spans = calls.map {
                (
                    $0.started,
                    $0.started.addingTimeInterval(
                        Double($0.duration.components.seconds) + Double($0.duration.components.attoseconds) / 1e18)
                )
            }
            let latestStart = spans.map(\.0).max() ?? Date()
            let earliestEnd = spans.map(\.1).min() ?? Date()
            #expect(latestStart < earliestEnd)
        }
    }

    @Test func policyLimitsHowManyCallsAreInFlight() async throws {
        try await HostHarness.with(policy: HostPolicy(maxConcurrentCalls: 1)) { h in
            let records = RecordList()
            h.host.addCallObserver { records.append($0) }
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", latencyMs: 100))
            _ = try await h.value(
                """
                return map({'a', 'b', 'c'}, function(p) return bedrock.converse{model='\(haiku)', messages=p} end)
                """)
            let spans = records.all.map {
                (
                    $0.started,
                    $0.started.addingTimeInterval(
                        Double($0.duration.components.seconds) + Double($0.duration.components.attoseconds) / 1e18)
                )
            }
            .sorted { $0.0 < $1.0 }
            #expect(spans.count == 3)
            for (a, b) in zip(spans, spans.dropFirst()) { #expect(b.0 >= a.1.addingTimeInterval(-0.01)) }
        }
    }

    @Test func limitsApplyAcrossBranches() async throws {
        var policy = HostPolicy()
        policy.limits.instructions = 2_000_000
        try await HostHarness.with(policy: policy) { h in
            await #expect {
                _ = try await h.value("parallel(function() sleep(0) end, function() while true do end end)")
            } throws: { error in
                if case LuaError.limit(.instructions, _) = error { return true }
                return false
            }
            // The state survives for the next evaluation.
            let two = try await h.value("return 1 + 1")
            #expect(two == 2)
        }
    }

    @Test func cancellingStopsAPendingCallAndKeepsTheState() async throws {
        try await HostHarness.with(isolation: .session) { h in
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", stall: true))
            _ = try await h.value("kept = 41")
            let task = Task { try await h.host.evaluate("return bedrock.converse{model='\(haiku)', messages='x'}") }
            try await Task.sleep(for: .milliseconds(300))
            h.host.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            h.emulator.clearFaults()
            #expect(try await h.value("return kept + 1") == 42)
        }
    }

    @Test func cancellingInterruptsABusyLoop() async throws {
        try await HostHarness.with { h in
            let task = Task { try await h.host.evaluate("local n = 0 while true do n = n + 1 end") }
            try await Task.sleep(for: .milliseconds(200))
            h.host.cancel()
            await #expect { _ = try await task.value } throws: { error in
                if case LuaError.limit(.interrupted, _) = error { return true }
                return error is CancellationError
            }
            let alive = try await h.value("return 'alive'")
            #expect(alive == "alive")
        }
    }

    @Test func sleepAndNowAreMonotonicSeconds() async throws {
        try await HostHarness.with { h in
            let r = try await h.value("local t = now(); sleep(0.05); return {now() - t, math.type(now())}")
            guard case .array(let parts) = r, case .number(let elapsed)? = parts.first else {
                Issue.record("bad result"); return
            }
            #expect(elapsed >= 0.05)
            #expect(parts.last == "float")
        }
    }

    @Test func asyncSwiftFunctionsYieldLikeBedrockCalls() async throws {
        try await HostHarness.with { h in
            try await h.host.register("tools.lookup") { args in
                guard let key = args.first?.stringValue else {
                    throw ScriptError(code: "BadKey", message: "need a key")
                }
                try await Task.sleep(for: .milliseconds(5))
                return [.string("value of \(key)")]
            }
            try await h.host.registerSync("tools.add") { args in
                [.integer((args.first?.int ?? 0) + (args.last?.int ?? 0))]
            }
            let r = try await h.value(
                """
                local ok, e = pcall(tools.lookup)
                return {tools.lookup('x'), tools.add(2, 3), e.code, e.message}
                """)
            #expect(r == .array(["value of x", 5, "BadKey", "need a key"]))
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0
    private var max = 0
    func enter() { lock.lock(); now += 1; max = Swift.max(max, now); lock.unlock() }
    func leave() { lock.lock(); now -= 1; lock.unlock() }
    var peak: Int { lock.lock(); defer { lock.unlock() }; return max }
}

final class RecordList: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [CallRecord] = []
    func append(_ r: CallRecord) { lock.lock(); records.append(r); lock.unlock() }
    var all: [CallRecord] { lock.lock(); defer { lock.unlock() }; return records }
}
