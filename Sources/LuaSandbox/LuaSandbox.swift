import CLua
import CLuaShim
import Foundation
import Synchronization

/// The version string of the Lua library Quarry is linked against (for example `Lua 5.4`).
public let luaVersion: String = LUA_VERSION_MAJOR + "." + LUA_VERSION_MINOR

/// A sandboxed Lua state on its own thread, driven from async Swift.
///
/// All Lua runs on one dedicated thread with a 16 MiB stack. The state persists across
/// runs (a REPL keeps one sandbox; `quarry run` makes a fresh one per script); limits
/// are reset at the start of every run. `interrupt()` may be called from any thread.
public final class LuaSandbox: Sendable {
    private let thread: LuaThread
    private let box: StateBox
    private let interruptor: Interruptor
    private let backstop: Backstop

    /// Creates the state on a new Lua thread; `output` receives what scripts print.
    public convenience init(
        limits: LuaLimits = LuaLimits(),
        output: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws {
        try await self.init(limits: limits, byteOutput: { output(String(decoding: $0, as: UTF8.self)) })
    }

    /// Creates the state on a new Lua thread; `byteOutput` receives the exact bytes
    /// scripts print (Lua strings are bytes: nothing is repaired into UTF-8).
    public init(limits: LuaLimits = LuaLimits(), byteOutput: @escaping @Sendable ([UInt8]) -> Void) async throws {
        let thread = try LuaThread()
        self.backstop = Backstop(onGiveUp: { [thread] in thread.giveUp() })
        let box = try await thread.run { () throws -> StateBox in
            StateBox(try LuaState(limits: limits, byteOutput: byteOutput))
        }
        self.thread = thread
        self.box = box
        self.interruptor = Interruptor(box.state?.interruptTarget)
        let backstop = self.backstop
        try await thread.run { box.state?.onRun = { backstop.run($0) } }
    }

    deinit {
        let box = self.box
        let interruptor = self.interruptor
        thread.enqueue {
            interruptor.clear()
            box.state = nil
        }
        thread.stop()
    }

    /// Runs `body` with the state on the Lua thread (set-up, scheduling, completion).
    ///
    /// During a run, the wait ends at the run's deadline (or an interrupt) plus
    /// `LuaLimits.graceSeconds` even if the Lua thread is stuck in one C call: it then
    /// throws `LuaError.limit(.unresponsive, …)` and the sandbox is unusable from then on
    /// (every later call throws the same error).
    public func withState<T: Sendable>(_ body: @escaping @Sendable (LuaState) throws -> T) async throws -> T {
        if let failure = backstop.failure { throw failure }
        let box = self.box
        let backstop = self.backstop
        let once = OnceResult<T>()
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let waiter = backstop.register { once.resume(with: .failure($0)) }
            thread.enqueue {
                backstop.start(waiter)
                let result = Result { () throws -> T in
                    guard let state = box.state else { throw LuaError.state("the sandbox is closed") }
                    return try body(state)
                }
                backstop.unregister(waiter)
                once.resume(with: result)
            }
        }
    }

    /// The Lua thread as a task executor: the run's task prefers it, so a script and its
    /// sequential calls share one thread (see `LuaThread`).
    public var executor: any TaskExecutor { thread }

    /// Whether the sandbox gave up on a stuck Lua thread (see `withState`); nil if usable.
    public var unusable: LuaError? { backstop.failure }

    /// Stops the running script at its next hook check with an "interrupted" error;
    /// the state survives. Safe from any thread (e.g. a Ctrl-C handler). If Lua does
    /// not stop within the grace period, waits for it end as `withState` describes.
    public func interrupt() {
        interruptor.interrupt()
        backstop.interrupt()
    }

    /// Runs a chunk as a coroutine under `limits`, awaiting each host request with
    /// `resolve` and resuming with its result (a thrown error becomes a Lua error).
    /// Returns the chunk's results; throws `LuaError` for errors and tripped limits —
    /// also when the script caught the limit's error and returned normally.
    public func run(
        _ source: String, name: String = "=chunk", limits: LuaLimits = LuaLimits(),
        resolve: @escaping @Sendable (any Sendable) async throws -> LuaResumeInput = { _ in
            .error(.string("no host requests are served here"))
        }
    ) async throws -> [LuaValue] {
        let co = try await withState { state throws -> LuaCoroutine in
            state.beginRun(limits)
            do {
                return try state.newCoroutine(state.load(source, name: name))
            } catch {
                state.endRun()
                throw error
            }
        }
        var input = LuaResumeInput.values([])
        while true {
            let next = input
            let outcome = try await withState { state in state.resume(co, with: next) }
            switch outcome {
            case .suspended(let request):
                do {
                    input = try await resolve(request)
                } catch {
                    input = .error(.string(String(describing: error)))
                }
            case .finished(let values):
                let report = try await finish(co)
                if let kind = report.trippedLimit { throw LuaError.limit(kind, report.tripMessage ?? kind.rawValue) }
                return values
            case .yielded:
                _ = try await finish(co)
                throw LuaError.runtime(message: "\(name): attempt to yield from outside a coroutine", value: nil)
            case .failed(let error):
                _ = try await finish(co)
                throw error
            }
        }
    }

    private func finish(_ co: LuaCoroutine) async throws -> LuaRunReport {
        try await withState { state in
            state.release(co)
            return state.endRun()
        }
    }

    /// The string keys at a dotted path, for tab completion.
    public func keys(atPath path: String) async throws -> [String] {
        try await withState { $0.keys(atPath: path) }
    }
}

/// Holds the thread-confined state; only touched on the Lua thread.
final class StateBox: @unchecked Sendable {
    var state: LuaState?
    init(_ state: LuaState) { self.state = state }
}

/// Lets any thread raise the interrupt flag while the state is alive.
final class Interruptor: @unchecked Sendable {
    private let lock = Mutex(())
    private var target: OpaquePointer?

    init(_ target: OpaquePointer?) { self.target = target }

    func interrupt() {
        lock.withLock { _ in
            if let target { quarry_sandbox_interrupt(target) }
        }
    }

    func clear() {
        lock.withLock { _ in target = nil }
    }
}

/// Resumes a continuation once: with the job's result, or with the backstop's error,
/// whichever comes first.
final class OnceResult<T: Sendable>: @unchecked Sendable {
    private let lock = Mutex(())
    private var continuation: CheckedContinuation<T, any Error>?
    private var early: Result<T, any Error>?
    private var done = false

    func set(_ c: CheckedContinuation<T, any Error>) {
        let ready = lock.withLock { _ -> Result<T, any Error>? in
            if let early { return early }
            continuation = c
            return nil
        }
        if let ready { c.resume(with: ready) }
    }

    func resume(with result: Result<T, any Error>) {
        let c = lock.withLock { _ -> CheckedContinuation<T, any Error>? in
            guard !done else { return nil }
            done = true
            guard let c = continuation else {
                early = result
                return nil
            }
            continuation = nil
            return c
        }
        c?.resume(with: result)
    }
}

/// Ends waits for the Lua thread that outlive a run's deadline (or an interrupt) by more
/// than the grace period, and marks the sandbox unusable when one does.
///
/// A wait is judged from when its job starts on the Lua thread: the thread is stuck
/// only when a job it is running outlives the deadline (or the interrupt, or its own
/// start when it started later) by the grace. A resumption that merely reaches the
/// thread late (its task was delayed) finds the thread free, trips the limit at once and
/// is not taken for a stuck thread. Once the thread is judged stuck, every wait ends.
///
/// One timer task serves every wait (a timer task per wait cost a task, a timer and two
/// thread wake-ups on each resumption of a script, i.e. on every host call): it sleeps
/// until the earliest wait's end, and is armed again only when a wait must end sooner.
final class Backstop: @unchecked Sendable {
    private struct Waiter {
        let fail: @Sendable (LuaError) -> Void
        /// When its job started on the Lua thread (nil: still queued).
        var started: ContinuousClock.Instant?
    }

    private let lock = Mutex(())
    private var waiters: [Int: Waiter] = [:]
    private var nextID = 0
    /// Set while a run is active: when its deadline passes, and the grace.
    private var running = false
    private var deadline: ContinuousClock.Instant?
    private var interruptedAt: ContinuousClock.Instant?
    private var grace: Duration = .seconds(2)
    private var graceSeconds: Double = 2
    private var _failure: LuaError?
    /// The one timer, when it wakes next, and its generation (a replaced timer stops).
    private var timer: Task<Void, Never>?
    private var wake: ContinuousClock.Instant?
    private var generation = 0
    /// Called once, before any wait is ended, when the thread is judged stuck.
    private let onGiveUp: @Sendable () -> Void

    init(onGiveUp: @escaping @Sendable () -> Void = {}) { self.onGiveUp = onGiveUp }

    var failure: LuaError? {
        lock.withLock { _ in _failure }
    }

    /// A run starts (its limits) or ends (nil).
    func run(_ limits: LuaLimits?) {
        lock.withLock { _ in
            interruptedAt = nil
            guard let limits else {
                running = false
                deadline = nil
                return
            }
            running = true
            let g = limits.graceSeconds.isFinite ? min(max(limits.graceSeconds, 0), 3600) : 2
            graceSeconds = g
            grace = .nanoseconds(Int64(g * 1e9))
            if limits.seconds.isFinite, limits.seconds > 0 {
                // Capped at a year: a longer deadline is none at all in practice.
                deadline = .now + .nanoseconds(Int64(min(limits.seconds, 31_536_000) * 1e9))
            } else {
                deadline = nil
            }
            scheduleEarliestLocked()
        }
    }

    /// Registers a wait for the Lua thread; `fail` ends it if the backstop fires.
    func register(_ fail: @escaping @Sendable (LuaError) -> Void) -> Int {
        let (id, failure) = lock.withLock { _ -> (Int, LuaError?) in
            let id = nextID
            nextID += 1
            // Given up on already (between the caller's check and now): ends at once.
            if let _failure { return (id, _failure) }
            waiters[id] = Waiter(fail: fail)
            return (id, nil)
        }
        if let failure { fail(failure) }
        return id
    }

    /// The wait's job has started on the Lua thread: from now on it counts.
    func start(_ id: Int) {
        lock.withLock { _ in
            guard waiters[id] != nil else { return }
            let now = ContinuousClock.now
            waiters[id]?.started = now
            if let due = dueLocked(startedAt: now)?.due { scheduleLocked(due) }
        }
    }

    func unregister(_ id: Int) {
        let stopped = lock.withLock { _ -> Task<Void, Never>? in
            guard waiters.removeValue(forKey: id) != nil, !running, timer != nil else { return nil }
            // Between runs, with no wait left to end: the timer has nothing to do.
            guard !waiters.values.contains(where: { $0.started != nil }) else { return nil }
            defer { (timer, wake) = (nil, nil) }
            generation &+= 1
            return timer
        }
        stopped?.cancel()
    }

    /// An interrupt: every running wait of the run ends within the grace from now.
    func interrupt() {
        lock.withLock { _ in
            guard running, interruptedAt == nil else { return }
            interruptedAt = .now
            scheduleEarliestLocked()
        }
    }

    /// When a job started at `started` is given up on, and whether by the interrupt
    /// (nil outside a run, or in a run with neither deadline nor interrupt).
    private func dueLocked(startedAt started: ContinuousClock.Instant)
        -> (due: ContinuousClock.Instant, interrupted: Bool)?
    {
        guard running else { return nil }
        let byDeadline = deadline.map { max($0, started) + grace }
        let byInterrupt = interruptedAt.map { max($0, started) + grace }
        switch (byDeadline, byInterrupt) {
        case let (d?, i?): return i < d ? (i, true) : (d, false)
        case let (d?, nil): return (d, false)
        case let (nil, i?): return (i, true)
        case (nil, nil): return nil
        }
    }

    /// Arms the timer for the earliest end among the running waits (under the lock).
    private func scheduleEarliestLocked() {
        let dues = waiters.values.compactMap { w in w.started.flatMap { dueLocked(startedAt: $0)?.due } }
        if let earliest = dues.min() { scheduleLocked(earliest) }
    }

    /// Makes the timer wake no later than `due` (under the lock).
    private func scheduleLocked(_ due: ContinuousClock.Instant) {
        if timer != nil, let wake, wake <= due { return }
        timer?.cancel()
        generation &+= 1
        let generation = self.generation
        wake = due
        timer = Task.detached { [weak self] in
            var next = due
            while true {
                do {
                    try await Task.sleep(until: next, clock: .continuous)
                } catch {
                    return
                }
                guard let self, let later = self.fire(generation) else { return }
                next = later
            }
        }
    }

    /// Ends the waits that are due, and with them every other wait (the thread is
    /// stuck); returns when to check next (nil: the timer stops).
    private func fire(_ generation: Int) -> ContinuousClock.Instant? {
        let (ended, failure, next) = lock.withLock { _ -> ([Waiter], LuaError?, ContinuousClock.Instant?) in
            guard generation == self.generation else { return ([], nil, nil) }
            let now = ContinuousClock.now
            var stuck: Bool?  // by the interrupt (true) or the deadline (false)
            var next: ContinuousClock.Instant?
            for waiter in waiters.values {
                guard let started = waiter.started, let (due, interrupted) = dueLocked(startedAt: started) else {
                    continue
                }
                if due <= now {
                    stuck = (stuck ?? false) || interrupted
                } else {
                    next = next.map { min($0, due) } ?? due
                }
            }
            guard let stuck else {
                if next == nil { (timer, wake) = (nil, nil) } else { wake = next }
                return ([], nil, next)
            }
            if _failure == nil {
                let seconds = graceSeconds == graceSeconds.rounded() ? String(Int(graceSeconds)) : String(graceSeconds)
                let what = stuck ? "being interrupted" : "its deadline"
                _failure = .limit(
                    .unresponsive,
                    "sandbox limit: the script did not stop within \(seconds) s of \(what) "
                        + "(it is stuck in one C call); this sandbox can no longer be used")
            }
            let ended = Array(waiters.values)
            waiters.removeAll()
            (timer, wake) = (nil, nil)
            return (ended, _failure, nil)
        }
        if let failure {
            // Before the waits end: their tasks may prefer the stuck thread.
            onGiveUp()
            for waiter in ended { waiter.fail(failure) }
        }
        return next
    }
}
