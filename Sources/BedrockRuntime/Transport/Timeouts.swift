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

/// A timer that fails a watched operation when it sees no progress for too long.
///
/// Before the response head it enforces the time-to-first-byte limit; after `rearm`,
/// the idle limit, reset by every `touch()`. It runs as a sibling task of the
/// operation: when it throws, the task group cancels the operation, and
/// AsyncHTTPClient closes the connection.
final class ProgressWatchdog: @unchecked Sendable {
    private let lock = Mutex(())
    private var lastProgress: ContinuousClock.Instant
    private var limit: Duration
    private var failure: TransportFailure
    private var finished = false

    init(limit: Duration, failure: TransportFailure) {
        self.lastProgress = .now
        self.limit = limit
        self.failure = failure
    }

    /// Records progress (a chunk arrived).
    func touch() { lock.withLock { _ in lastProgress = .now } }

    /// Switches to a new limit, counting from now.
    func rearm(limit: Duration, failure: TransportFailure) {
        lock.withLock { _ in
            lastProgress = .now
            self.limit = limit
            self.failure = failure
        }
    }

    /// Stops watching; `watch()` returns.
    func finish() { lock.withLock { _ in finished = true } }

    /// Sleeps until the limit passes without progress (then throws), the absolute
    /// `total` deadline passes (then throws the total timeout), or `finish()`.
    func watch(total: (deadline: ContinuousClock.Instant, limit: Duration?)? = nil) async throws {
        while true {
            let (deadline, failure, done) = lock.withLock { _ in (lastProgress + limit, self.failure, finished) }
            if done { return }
            let now = ContinuousClock.now
            if let total, now >= total.deadline {
                throw BedrockError(
                    kind: .transport(.totalTimeout),
                    message: Self.message(.totalTimeout, total.limit?.seconds ?? 0))
            }
            if now >= deadline {
                let seconds = lock.withLock { _ in limit.seconds }
                throw BedrockError(kind: .transport(failure), message: Self.message(failure, seconds))
            }
            // Wake at the first deadline, but at least every 250 ms to notice `finish()`.
            var wake = min(deadline, now + .milliseconds(250))
            if let total { wake = min(wake, total.deadline) }
            try await Task.sleep(until: wake, clock: .continuous)
        }
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

/// Runs `operation` under a watchdog and an optional absolute deadline; the first
/// to fail wins and cancels the others.
func withWatchdog<T: Sendable>(
    _ watchdog: ProgressWatchdog, deadline: ContinuousClock.Instant?, totalLimit: Duration?,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        // One timer task watches both the progress limits and the total deadline.
        group.addTask {
            try await watchdog.watch(total: deadline.map { ($0, totalLimit) }); return nil
        }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let value = next {
                watchdog.finish()
                return value
            }
        }
        throw CancellationError()
    }
}
