import Foundation
import Synchronization

/// One Bedrock call as a script made it: for metrics, reports and status lines.
public struct CallRecord: Sendable, Hashable {
    /// The operation (`Converse`, `ConverseStream`, `InvokeModel`, …).
    public var operation: String
    /// The model id, when the operation has one.
    public var model: String?
    /// The region the call went to.
    public var region: String
    /// When the call started (wall clock).
    public var started: Date
    /// How long it took, retries included.
    public var duration: Duration
    /// Every attempt, oldest first.
    public var attempts: [AttemptRecord]
    /// The error code when it failed; nil on success. A stream that did not run to its
    /// end says why: `StreamClosed` (the script closed it), `Cancelled` (the run was
    /// cancelled) or `StreamAbandoned` (the run ended while it was open).
    public var errorCode: String?
    /// Input tokens, when the answer said.
    public var inputTokens: Int?
    /// Output tokens, when the answer said.
    public var outputTokens: Int?
    /// The request id of the last answer.
    public var requestId: String?
    /// The run that made the call (``RunSettings/runId``, or the UUID the host gave the
    /// run); nil for a call made outside any run.
    public var runId: String?

    /// A record from its parts.
    public init(
        operation: String, model: String?, region: String, started: Date, duration: Duration,
        attempts: [AttemptRecord], errorCode: String?, inputTokens: Int? = nil, outputTokens: Int? = nil,
        requestId: String? = nil, runId: String? = nil
    ) {
        self.runId = runId
        self.operation = operation; self.model = model; self.region = region; self.started = started
        self.duration = duration; self.attempts = attempts; self.errorCode = errorCode
        self.inputTokens = inputTokens; self.outputTokens = outputTokens; self.requestId = requestId
    }
}

/// A piece of Lua API installed into a host: fault injection, resilience patterns, the
/// test framework, an app's own tools. `install` registers functions and runs Lua.
public protocol QuarryModule: Sendable {
    /// Adds the module's globals to `host`.
    func install(into host: QuarryHost) async throws
}

/// Limits how many calls run at once; waiters are served in order.
final class CallGate: @unchecked Sendable {
    private let lock = Mutex(())
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { available = max(1, limit) }

    func acquire() async {
        // A free slot is taken without suspending: a continuation resumed at once still
        // sends the task back through the executor, a thread hop on every Bedrock call.
        let taken = lock.withLock { _ -> Bool in
            guard available > 0, waiters.isEmpty else { return false }
            available -= 1
            return true
        }
        if taken { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let admitted = lock.withLock { _ in
                guard available > 0 else {
                    waiters.append(c)
                    return false
                }
                available -= 1
                return true
            }
            if admitted { c.resume() }
        }
    }

    func release() {
        let next = lock.withLock { _ -> CheckedContinuation<Void, Never>? in
            guard !waiters.isEmpty else {
                available += 1
                return nil
            }
            return waiters.removeFirst()
        }
        next?.resume()
    }
}
