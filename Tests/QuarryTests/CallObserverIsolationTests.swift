import Dispatch
import Foundation
import HTTPTestSupport
import Quarry
import Testing

/// An app's call observer that blocks or is slow never holds a run past its deadline or
/// its cancellation, nor leaves the host unusable: observers and calls run on Swift's
/// pool, never on the event loop that drives the run (the attacker audit of 2026-12-06
/// found all three broken while runs were driven from a NIO loop). Real emulator over
/// loopback, real Lua; every blocked thread is released at the end.
@Suite(.serialized) struct CallObserverIsolationTests {
    static let model = "anthropic.claude-3-haiku-20240307-v1:0"
    static let call = "bedrock.converse{model = '\(model)', messages = 'hi', inference = {max_tokens = 5}}"

    /// A thread blocker released by the test (or after `seconds`, so nothing hangs).
    final class Blocker: @unchecked Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        let seconds: Double
        let entered = LockedBox<Int>(0)
        init(seconds: Double) { self.seconds = seconds }
        func block() {
            entered.withLockedValue { $0 += 1 }
            _ = semaphore.wait(timeout: .now() + seconds)
        }
        func releaseAll() { for _ in 0..<64 { semaphore.signal() } }
    }

    /// Runs `source` on `host` with a `seconds` deadline; returns how long `evaluate` took
    /// to come back (it is given `limit` seconds, then `blocker` is released) and its outcome.
    static func timed(
        _ host: QuarryHost, _ source: String, seconds: Double, limit: Double, blocker: Blocker,
        cancelAfter: Double? = nil
    ) async -> (elapsed: Double, outcome: String) {
        let start = ContinuousClock.now
        let run = Task { () -> String in
            do {
                let values = try await host.evaluate(
                    source, settings: RunSettings(limits: LuaLimits(seconds: seconds)))
                return "ok \(values)"
            } catch {
                return "error \(error)"
            }
        }
        if let cancelAfter {
            try? await Task.sleep(for: .milliseconds(Int(cancelAfter * 1000)))
            host.cancel()
        }
        // Waited for on a thread of its own (Swift's pool may be the thing that is starved):
        // only whether `evaluate` came back at all within `limit` is checked.
        let finished = DispatchSemaphore(value: 0)
        let watcher = Task {
            _ = await run.value; finished.signal()
        }
        let cameBack = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            Thread { c.resume(returning: finished.wait(timeout: .now() + limit) == .success) }.start()
        }
        let elapsed = ContinuousClock.now - start
        blocker.releaseAll()
        let outcome = await run.value
        _ = await watcher.value
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (cameBack ? secs : Double.infinity, outcome)
    }

    static func host(_ fixture: AppFixture, audit: AuditLog? = nil) async throws -> QuarryHost {
        var options = QuarryHost.Options(policy: .permissive, output: { _ in }, errorOutput: { _ in })
        options.audit = audit
        return try await QuarryHost(target: fixture.target, options: options)
    }

    /// A host on a live emulator, with an audit log in a fresh folder when `audited`
    /// (audited calls take their own path to the log).
    static func withHost(audited: Bool, _ body: (QuarryHost) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("observer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await AppFixture.with { f in
            let host = try await Self.host(
                f, audit: audited ? try AuditLog(file: dir.appendingPathComponent("a.jsonl")) : nil)
            try await body(host)
            await host.shutdown()
        }
    }

    /// An observer that blocks (a file write, a lock, `print` to a full pipe) does not hold
    /// the run past its wall-clock deadline.
    @Test(arguments: [false, true]) func aBlockingCallObserverDoesNotHoldTheRunPastItsDeadline(audited: Bool)
        async throws
    {
        try await Self.withHost(audited: audited) { host in
            let blocker = Blocker(seconds: 15)
            host.addCallObserver { _ in blocker.block() }
            let (elapsed, outcome) = await Self.timed(
                host, "\(Self.call); return 'after'", seconds: 1, limit: 8, blocker: blocker)
            // Deadline 1 s + grace 2 s: anything that comes back in 8 s held.
            #expect(elapsed < 8, "the run came back only when the observer returned: \(outcome)")
        }
    }

    /// Nor past `cancel()` (Ctrl-C in the CLI's REPL).
    @Test func aBlockingCallObserverDoesNotHoldTheRunPastCancel() async throws {
        try await Self.withHost(audited: false) { host in
            let blocker = Blocker(seconds: 15)
            host.addCallObserver { _ in blocker.block() }
            let (elapsed, outcome) = await Self.timed(
                host, "\(Self.call); return 'after'", seconds: 60, limit: 8, blocker: blocker, cancelAfter: 1)
            #expect(elapsed < 8, "cancel() did not end the run while the observer blocked: \(outcome)")
        }
    }

    /// An observer that is merely slow (4 s, then returns) leaves the host usable: the
    /// backstop does not take the healthy Lua thread for a stuck one.
    @Test(arguments: [false, true]) func aSlowCallObserverLeavesTheHostUsable(audited: Bool) async throws {
        try await Self.withHost(audited: audited) { host in
            let blocker = Blocker(seconds: 4)
            host.addCallObserver { _ in blocker.block() }
            let (_, outcome) = await Self.timed(
                host, "\(Self.call); return 'after'", seconds: 1, limit: 10, blocker: blocker)
            var next = ""
            do { next = "ok \(try await host.evaluate("return 1"))" } catch { next = "error \(error)" }
            #expect(next.hasPrefix("ok"), "audited \(audited): the host is unusable after a slow observer: \(next)")
            #expect(!outcome.contains("unresponsive") && !outcome.contains("did not stop"), "\(outcome)")
        }
    }

    /// Registered functions that block, many more of them at once than Swift's pool has
    /// threads, do not hold the run past its deadline, and the host stays usable: they run
    /// outside the pool that the deadline's timer and every other task need (the attacker
    /// audit's F3: on the pool, the run came back only when the functions did).
    @Test func blockingRegisteredFunctionsDoNotHoldTheRunPastItsDeadline() async throws {
        try await AppFixture.with { f in
            let host = try await Self.host(f)
            let blocker = Blocker(seconds: 15)
            try await host.register("stuck") { _ in
                blocker.block()
                return []
            }
            // 64: far more than Swift's pool has threads, and enough that Dispatch's queues
            // (which share threads with Swift's executor on Linux) starved it for 40 s.
            let calls = Array(repeating: "stuck", count: 64)
            let (elapsed, outcome) = await Self.timed(
                host, "parallel(\(calls.joined(separator: ", "))); return 'after'", seconds: 1, limit: 8,
                blocker: blocker)
            #expect(elapsed < 8, "the run did not come back while the functions blocked: \(outcome)")
            #expect(outcome.contains("deadline"), "\(outcome)")
            #expect(blocker.entered.withLockedValue { $0 } == calls.count, "every function started")
            let next = try await host.evaluate("return 1")
            #expect(next == [.integer(1)])
            await host.shutdown()
        }
    }

    /// A free app-function thread woken for one job is not counted free for the next: a
    /// quick function beside a blocked one runs at once (the second audit saw it wait for
    /// the blocked one, 4 s, with one idle thread left by an earlier call).
    @Test func aQuickFunctionBesideABlockedOneRunsAtOnce() async throws {
        try await AppFixture.with { f in
            let host = try await Self.host(f)
            let blocker = Blocker(seconds: 15)
            let ran = LockedBox<Bool>(false)
            try await host.register("stuck") { _ in
                blocker.block()
                return []
            }
            try await host.register("quick") { _ in
                ran.withLockedValue { $0 = true }
                return []
            }
            _ = try await host.evaluate("quick()")  // leaves a free thread behind
            ran.withLockedValue { $0 = false }
            let (elapsed, outcome) = await Self.timed(
                host, "parallel(function() stuck() end, function() quick() end)", seconds: 1, limit: 8,
                blocker: blocker)
            #expect(elapsed < 8, "\(outcome)")
            #expect(ran.withLockedValue { $0 }, "quick() waited behind the blocked function: \(outcome)")
            await host.shutdown()
        }
    }
}
