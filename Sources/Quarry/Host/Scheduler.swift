import Foundation
import Synchronization

/// What a suspended host function asks the scheduler to do before resuming its caller.
enum HostRequest: Sendable {
    /// Await this work (a Bedrock call, a sleep, a registered async function) and resume
    /// with its values; a thrown error is raised in Lua as a `ScriptError` table.
    case work(@Sendable () async throws -> [LuaValue])
    /// A Bedrock call light enough to run its Swift side on the script's own thread when
    /// the script makes one call at a time: a small request, nothing to write to an audit
    /// log, no app middleware in its path (`NonBlockingTransportMiddleware`s only) —
    /// nothing that can hold the thread long once the run must end (the attacker audit of 2026-12-06 held a run 7–30 s past its
    /// deadline with a 15 MB request, a locked audit log and a 31 MiB audited answer
    /// when every call ran there). Its answer, if over 1 MiB, is decoded on the pool.
    /// Awaited like `work` otherwise.
    case lightCall(@Sendable () async throws -> [LuaValue])
    /// An app's registered function: awaited like `work`, but run on threads outside
    /// Swift's cooperative pool (`AppFunctionExecutor`), as it may block: blocked pool
    /// threads would hold every task of the process, the run's deadline timer included.
    case appWork(@Sendable () async throws -> [LuaValue])
    /// Run these Lua functions as concurrent coroutines, at most `concurrency` at a time,
    /// and resume when all have finished (their results stay in Lua: see the prelude).
    case group([LuaValue], concurrency: Int)
    /// Run these Lua functions as concurrent coroutines and resume with the 1-based index
    /// of the first to finish; the others are cancelled (their pending calls too).
    case race([LuaValue])
}

/// Drives a script's coroutines: resumes one until it suspends in a host call, awaits
/// the call in Swift, and resumes it with the result. Coroutines of `parallel`/`map`
/// are driven concurrently; all Lua runs on the sandbox's one thread, so only awaiting
/// overlaps — which is where Bedrock calls spend their time.
struct Scheduler: Sendable {
    let sandbox: LuaSandbox
    /// The run's wall-clock deadline: a wait never outlasts it (the resumed script then
    /// trips the limit at once).
    let deadline: ContinuousClock.Instant?
    /// One timer for the whole run, shared by every wait (a timer task per host call
    /// cost a task, a timer and a thread wake-up on each Bedrock call and stream batch).
    private let watch: DeadlineWatch?

    init(sandbox: LuaSandbox, deadline: ContinuousClock.Instant?) {
        self.sandbox = sandbox
        self.deadline = deadline
        self.watch = deadline.map(DeadlineWatch.init)
    }

    /// Runs `co` until it finishes, fails or yields outside any script coroutine.
    /// Throws `CancellationError` when the task is cancelled.
    /// `sequential` is false for the coroutines of `parallel`/`map`/`race`: their calls
    /// stay on Swift's pool, where they overlap.
    func drive(_ co: LuaCoroutine, with first: LuaResumeInput, sequential: Bool = true) async throws
        -> LuaResumeOutcome
    {
        var input = first
        while true {
            try Task.checkCancellation()
            let next = input
            let outcome = try await sandbox.withState { $0.resume(co, with: next) }
            guard case .suspended(let request) = outcome else { return outcome }
            input = await serve(request, sequential: sequential)
        }
    }

    private func serve(_ request: any Sendable, sequential: Bool) async -> LuaResumeInput {
        switch request as? HostRequest {
        case .work(let body)?:
            return await Self.wait(for: body, watch: watch)
        case .lightCall(let body)?:
            guard sequential else { return await Self.wait(for: body, watch: watch) }
            return await Self.wait(for: body, on: sandbox.executor, pinningCalls: true, watch: watch)
        case .appWork(let body)?:
            return await Self.wait(for: body, on: AppFunctionExecutor.shared, watch: watch)
        case .group(let functions, let concurrency)?:
            return await runGroup(functions, concurrency: concurrency)
        case .race(let functions)?:
            return await runRace(functions)
        case nil:
            return .error(.string("internal error: unknown host request \(type(of: request))"))
        }
    }

    private static func perform(_ body: @Sendable () async throws -> [LuaValue]) async -> LuaResumeInput {
        // Its run ended (deadline, cancel) while it waited for a thread: never started.
        if Task.isCancelled {
            return .error(ScriptError(code: .cancelled, message: "the run ended before the call started").luaValue)
        }
        do {
            return .values(try await body())
        } catch {
            return .error(ScriptError.from(error).luaValue)
        }
    }

    /// Awaits `body` in a task of its own, but never past `deadline` nor past the
    /// cancellation of the waiting task: a body that ignores cancellation (a registered
    /// function stuck in a blocking call) is left to finish in the background, and the
    /// script is resumed at once (it then trips its deadline).
    ///
    /// With `pinningCalls`, the Bedrock calls `body` makes prefer `executor` too (their
    /// attempts and their connection: see `CallExecutor`).
    static func wait(
        for body: @escaping @Sendable () async throws -> [LuaValue], on executor: (any TaskExecutor)? = nil,
        pinningCalls: Bool = false, watch: DeadlineWatch?
    ) async -> LuaResumeInput {
        let first = FirstInput()
        let pinned = pinningCalls ? executor : nil
        let work = Task(executorPreference: executor) {
            first.offer(await CallExecutor.$preferred.withValue(pinned) { await perform(body) })
        }
        let ticket = watch?.register(first)
        let input = await withTaskCancellationHandler {
            await first.value()
        } onCancel: {
            first.offer(.error(ScriptError(code: .cancelled, message: "the run was cancelled").luaValue))
        }
        work.cancel()
        if let ticket { watch?.unregister(ticket) }
        return input
    }

    private func makeCoroutines(_ functions: [LuaValue]) async throws -> [LuaCoroutine] {
        try await sandbox.withState { state in
            var made: [LuaCoroutine] = []
            for function in functions {
                made.append(try state.newCoroutine(function))
                state.release(function)
            }
            return made
        }
    }

    private func runRace(_ functions: [LuaValue]) async -> LuaResumeInput {
        let coroutines: [LuaCoroutine]
        do {
            coroutines = try await makeCoroutines(functions)
        } catch {
            return .error(.string("race: \(error)"))
        }
        let failure = FirstFailure()
        // The group, its own loop included, on Swift's pool: on the Lua thread, every child
        // that ended would wake it to start the next (a quiet A/B measured no CPU difference
        // at 32 in flight; it keeps the structure the pool-driven groups had). The children
        // inherit the preference: concurrent coroutines' calls never share the script's thread.
        let winner: Int? = await withTaskExecutorPreference(globalConcurrentExecutor) {
            await withTaskGroup(of: Int?.self) { group in
                for (i, co) in coroutines.enumerated() {
                    group.addTask {
                        do {
                            failure.record(outcomeOf: try await drive(co, with: .values([]), sequential: false))
                            return i + 1
                        } catch {
                            return nil
                        }
                    }
                }
                var first: Int?
                while let next = await group.next() {
                    if let index = next {
                        first = index
                        break
                    }
                }
                group.cancelAll()
                return first
            }
        }
        _ = try? await sandbox.withState { state in coroutines.forEach(state.release) }
        if let message = failure.message { return .error(.string(message)) }
        guard let winner else { return .error(ScriptError(code: .cancelled, message: "race: cancelled").luaValue) }
        return .values([.integer(Int64(winner))])
    }

    private func runGroup(_ functions: [LuaValue], concurrency: Int) async -> LuaResumeInput {
        let coroutines: [LuaCoroutine]
        do {
            coroutines = try await makeCoroutines(functions)
        } catch {
            return .error(.string("parallel: \(error)"))
        }
        let failure = FirstFailure()
        // The group's own loop on Swift's pool (see `runRace`).
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            await withTaskGroup(of: Void.self) { group in
                var pending = coroutines[...]
                func startNext() {
                    guard let co = pending.popFirst() else { return }
                    group.addTask {
                        let outcome: LuaResumeOutcome
                        do {
                            outcome = try await drive(co, with: .values([]), sequential: false)
                        } catch {
                            failure.record(error is CancellationError ? "cancelled" : String(describing: error))
                            return
                        }
                        failure.record(outcomeOf: outcome)
                    }
                }
                for _ in 0..<max(1, concurrency) { startNext() }
                while await group.next() != nil { startNext() }
            }
        }
        _ = try? await sandbox.withState { state in coroutines.forEach(state.release) }
        if let message = failure.message { return .error(.string(message)) }
        return .values([])
    }
}

/// The first failure among concurrent coroutines (limits, interrupts: not script errors,
/// which the prelude's wrappers catch per item).
final class FirstFailure: Sendable {
    private let first = Mutex<String?>(nil)
    func record(_ message: String) {
        first.withLock { first in
            if first == nil { first = message }
        }
    }
    var message: String? { first.withLock { $0 } }

    /// Records how a group's coroutine failed, if it did: an error, or a yield outside any
    /// coroutine of its own.
    func record(outcomeOf outcome: LuaResumeOutcome) {
        switch outcome {
        case .failed(let error): record(String(describing: error))
        case .yielded: record("attempt to yield from outside a coroutine")
        default: break
        }
    }
}

/// The first of several racing answers (work, deadline, cancellation), awaited once.
final class FirstInput: @unchecked Sendable {
    private let lock = Mutex(())
    private var answer: LuaResumeInput?
    private var waiter: CheckedContinuation<LuaResumeInput, Never>?

    func offer(_ input: LuaResumeInput) {
        // Once answered, no waiter is ever stored again: nil means no one to resume.
        let w = lock.withLock { _ -> CheckedContinuation<LuaResumeInput, Never>? in
            guard answer == nil else { return nil }
            answer = input
            let w = waiter
            waiter = nil
            return w
        }
        w?.resume(returning: input)
    }

    func value() async -> LuaResumeInput {
        // Already answered: no suspension (and no trip through the executor).
        if let ready = lock.withLock({ _ in answer }) { return ready }
        return await withCheckedContinuation { c in
            let ready = lock.withLock { _ -> LuaResumeInput? in
                if let answer { return answer }
                waiter = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}

/// A run's wall-clock deadline, watched by one timer task for all the run's waits: at
/// the deadline every registered wait is answered with the deadline error. The timer
/// starts with the first wait and is cancelled when the run's scheduler goes away.
final class DeadlineWatch: Sendable {
    static let message = "sandbox limit: wall-clock deadline passed while waiting"

    private struct State {
        var waiters: [Int: FirstInput] = [:]
        var nextTicket = 0
        var fired = false
        var started = false
        var timer: Task<Void, Never>?
    }

    let deadline: ContinuousClock.Instant
    private let state = Mutex(State())

    init(deadline: ContinuousClock.Instant) { self.deadline = deadline }

    /// Answers `first` at the deadline (at once if it has passed); the ticket unregisters it.
    func register(_ first: FirstInput) -> Int {
        let (ticket, fired, start) = state.withLock { s -> (Int, Bool, Bool) in
            let ticket = s.nextTicket
            s.nextTicket += 1
            if s.fired { return (ticket, true, false) }
            s.waiters[ticket] = first
            let start = !s.started
            s.started = true
            return (ticket, false, start)
        }
        if fired { first.offer(.error(.string(Self.message))) }
        if start {
            let deadline = self.deadline
            let timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { self?.fire() }
            }
            state.withLock { $0.timer = timer }
        }
        return ticket
    }

    /// Forgets a wait that was answered otherwise.
    func unregister(_ ticket: Int) {
        _ = state.withLock { $0.waiters.removeValue(forKey: ticket) }
    }

    private func fire() {
        let waiters = state.withLock { s -> [FirstInput] in
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.offer(.error(.string(Self.message))) }
    }

    deinit { state.withLock { $0.timer?.cancel() } }
}

/// Runs the jobs of app-registered functions on threads of its own, outside Swift's
/// cooperative pool and outside Dispatch's. An app's function may block (a lock, a
/// synchronous call): on the pool, as many blocked functions as it has threads would
/// hold every task of the process, the deadline timer that ends the run included (the
/// attacker audit of 2026-12-06, F3). Dispatch's queues draw on the same threads as
/// Swift's global executor on Linux and add threads slowly, so they starve it too.
///
/// A job goes to an idle thread, or to a new one while fewer than `maxThreads` exist;
/// past that it waits for a thread (blocked functions then wait on each other, never on
/// the host). A thread idle for `idleSeconds` ends.
final class AppFunctionExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = AppFunctionExecutor()
    /// The most threads at once: each blocked function holds one.
    static let maxThreads = 256
    static let idleSeconds = 10.0

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var threads = 0
    /// Threads running a job (the others are free, or about to take a queued one).
    private var busy = 0

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        // A thread for every queued job: a free thread woken for one job is not free for
        // the next (the audit saw a second job wait 4 s behind a blocked first).
        let spawn = jobs.count > threads - busy && threads < Self.maxThreads
        if spawn { threads += 1 }
        condition.signal()
        condition.unlock()
        if spawn { startThread() }
    }

    private func startThread() {
        let thread = Thread { [self] in work() }
        thread.name = "quarry.app-function"
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func work() {
        condition.lock()
        while true {
            if jobs.isEmpty {
                let signalled = condition.wait(until: Date(timeIntervalSinceNow: Self.idleSeconds))
                if !signalled && jobs.isEmpty {
                    threads -= 1
                    condition.unlock()
                    return
                }
                continue
            }
            let job = jobs.removeFirst()
            busy += 1
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
            condition.lock()
            busy -= 1
        }
    }
}
