import Foundation
import Synchronization

/// The deadlines of a call. Defaults suit long generations: a non-streaming Converse
/// answers only when the model has finished, so there is no 60 s read timeout that
/// kills a slow model; every wait still ends.
public struct Timeouts: Sendable, Hashable {
    /// Establishing the TCP (and TLS) connection. Client-wide (set on the connection pool).
    public var connect: Duration
    /// From sending an attempt to its response head.
    public var firstByte: Duration
    /// Longest silence while reading a body or between stream events.
    public var idle: Duration
    /// The whole call, all attempts and waits included; nil for none (streams).
    public var total: Duration?

    /// connect 10 s, first byte 5 min, idle 60 s, total 15 min.
    public static let `default` = Timeouts()

    public init(
        connect: Duration = .seconds(10), firstByte: Duration = .seconds(300), idle: Duration = .seconds(60),
        total: Duration? = .seconds(900)
    ) {
        self.connect = connect; self.firstByte = firstByte; self.idle = idle; self.total = total
    }
}

/// A limit on how long a watched operation may go without progress.
///
/// Before the response head it enforces the time-to-first-byte limit; after `rearm`,
/// the idle limit, reset by every `touch()`; with a total deadline, that too. No timer of
/// its own: `WatchdogClock` checks every running watchdog with one timer for the
/// process, and when one expires it records the failure and cancels the operation
/// (AsyncHTTPClient then closes the connection).
final class ProgressWatchdog: @unchecked Sendable {
    private let lock = Mutex(())
    private var lastProgress: ContinuousClock.Instant
    private var limit: Duration
    private var failure: TransportFailure
    private var finished = false
    private var total: (deadline: ContinuousClock.Instant, limit: Duration?)?
    private var expiry: BedrockError?
    private var onExpiry: (@Sendable () -> Void)?

    init(limit: Duration, failure: TransportFailure) {
        self.lastProgress = .now
        self.limit = limit
        self.failure = failure
    }

    /// Records progress (a chunk arrived).
    func touch() { lock.withLock { _ in lastProgress = .now } }

    /// Switches to a new limit, counting from now.
    func rearm(limit: Duration, failure: TransportFailure) {
        let due = lock.withLock { _ -> ContinuousClock.Instant? in
            lastProgress = .now
            self.limit = limit
            self.failure = failure
            return dueLocked
        }
        // A shorter limit than the clock's next check: the clock wakes for it.
        if let due { WatchdogClock.shared.check(by: due) }
    }

    /// Stops watching; the clock forgets it.
    func finish() { lock.withLock { _ in finished = true } }

    /// The failure it expired with (nil while it has not).
    var expired: BedrockError? { lock.withLock { _ in expiry } }

    /// Starts watching: `total` is the absolute deadline, `onExpiry` cancels the operation.
    fileprivate func start(
        total: (deadline: ContinuousClock.Instant, limit: Duration?)?, onExpiry: @escaping @Sendable () -> Void
    ) {
        lock.withLock { _ in
            self.total = total
            self.onExpiry = onExpiry
        }
    }

    /// When it expires if nothing happens (nil once finished or expired).
    var due: ContinuousClock.Instant? { lock.withLock { _ in dueLocked } }

    private var dueLocked: ContinuousClock.Instant? {
        if finished || expiry != nil { return nil }
        let progress = lastProgress + limit
        guard let total else { return progress }
        return min(progress, total.deadline)
    }

    /// Expires it if its limit or deadline has passed at `now`; true if it did (or is done).
    fileprivate func expireIfDue(at now: ContinuousClock.Instant) -> Bool {
        let cancel = lock.withLock { _ -> (@Sendable () -> Void)?? in
            if finished || expiry != nil { return .some(nil) }
            if let total, now >= total.deadline {
                expiry = BedrockError(
                    kind: .transport(.totalTimeout), message: Self.message(.totalTimeout, total.limit?.seconds ?? 0))
            } else if now >= lastProgress + limit {
                expiry = BedrockError(kind: .transport(failure), message: Self.message(failure, limit.seconds))
            } else {
                return nil
            }
            defer { onExpiry = nil }
            return .some(onExpiry)
        }
        guard let cancel else { return false }
        cancel?()
        return true
    }

    static func message(_ failure: TransportFailure, _ seconds: Double) -> String {
        let s = seconds.formatted(.number.precision(.fractionLength(0...3)))
        switch failure {
        case .firstByteTimeout: return "no response within \(s) s (time-to-first-byte timeout)"
        case .idleTimeout: return "no data for \(s) s (idle timeout)"
        case .totalTimeout: return "the call took longer than \(s) s (total timeout)"
        default: return "timed out after \(s) s"
        }
    }
}

/// One timer for every running `ProgressWatchdog` of the process (a timer task per
/// attempt cost a task, a timer and a thread wake-up on every call). It sleeps until the
/// nearest deadline, at most `longestSleep` (watchdogs' progress moves their deadlines
/// later without telling it), and stops while nothing is watched.
final class WatchdogClock: Sendable {
    static let shared = WatchdogClock()
    /// The longest the timer sleeps between checks.
    static let longestSleep: Duration = .milliseconds(250)

    private struct State {
        var watched: [ObjectIdentifier: ProgressWatchdog] = [:]
        var timer: Task<Void, Never>?
        /// When the timer checks next (nil while it is not running).
        var wake: ContinuousClock.Instant?
        var generation = 0
    }

    private let state = Mutex(State())

    /// Watches `watchdog` until `remove`.
    func add(_ watchdog: ProgressWatchdog) {
        let due = watchdog.due
        state.withLock { s in
            s.watched[ObjectIdentifier(watchdog)] = watchdog
            if s.timer == nil || due.map({ d in s.wake.map { d < $0 } ?? true }) == true {
                restartLocked(&s)
            }
        }
    }

    func remove(_ watchdog: ProgressWatchdog) {
        _ = state.withLock { $0.watched.removeValue(forKey: ObjectIdentifier(watchdog)) }
    }

    /// Makes the timer check no later than `due`.
    func check(by due: ContinuousClock.Instant) {
        state.withLock { s in
            guard s.timer != nil, let wake = s.wake, due < wake else { return }
            restartLocked(&s)
        }
    }

    private func restartLocked(_ s: inout State) {
        s.timer?.cancel()
        s.generation &+= 1
        let generation = s.generation
        s.wake = .now
        s.timer = Task { [self] in await run(generation) }
    }

    private func run(_ generation: Int) async {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let watched = state.withLock { s -> [ProgressWatchdog]? in
                s.generation == generation ? Array(s.watched.values) : nil
            }
            guard let watched else { return }
            // Outside the lock: an expiry cancels its operation, which runs its handlers.
            for watchdog in watched { _ = watchdog.expireIfDue(at: now) }
            let wake = state.withLock { s -> ContinuousClock.Instant? in
                guard s.generation == generation else { return nil }
                if s.watched.isEmpty {
                    s.timer = nil
                    s.wake = nil
                    return nil
                }
                // Every watchdog now watched, those added or rearmed meanwhile too.
                var next = ContinuousClock.now + Self.longestSleep
                for watchdog in s.watched.values { if let due = watchdog.due { next = min(next, due) } }
                s.wake = next
                return next
            }
            guard let wake else { return }
            try? await Task.sleep(until: wake, clock: .continuous)
        }
    }
}

/// Runs `operation` under a watchdog and an optional absolute deadline: when either
/// passes, the operation is cancelled and the watchdog's failure is thrown.
func withWatchdog<T: Sendable>(
    _ watchdog: ProgressWatchdog, deadline: ContinuousClock.Instant?, totalLimit: Duration?,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let task = Task(executorPreference: CallExecutor.preferred) { try await operation() }
    watchdog.start(total: deadline.map { ($0, totalLimit) }, onExpiry: { task.cancel() })
    WatchdogClock.shared.add(watchdog)
    let result = await withTaskCancellationHandler {
        await task.result
    } onCancel: {
        task.cancel()
    }
    watchdog.finish()
    WatchdogClock.shared.remove(watchdog)
    switch result {
    case .success(let value): return value
    case .failure(let error):
        if let expired = watchdog.expired { throw expired }
        throw error
    }
}
