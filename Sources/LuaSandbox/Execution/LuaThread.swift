import Foundation

/// The one thread all Lua of a sandbox runs on: a thread we own with a large stack
/// (Lua's parser, pattern matcher and `tostring` chains recurse in C), fed by a job
/// queue so async Swift code can drive it.
///
/// It is also a `TaskExecutor`: a run's own task and its sequential calls prefer it, so
/// a script's call and the script meet on one thread instead of handing each other over
/// between this thread and Swift's pool (each hand-over was a thread wake-up and a sleep,
/// the bulk of a sequential call's cost). Once the thread is given up as stuck, or
/// stopped, Swift jobs go to the global pool instead, the queued ones included: nothing
/// waits on a thread that will not come back.
final class LuaThread: TaskExecutor, @unchecked Sendable {
    /// The stack size: 16 MiB (DESIGN.md asks for at least 8 MiB).
    static let stackBytes = 16 << 20

    private enum Job {
        /// Lua work (`enqueue(_:)` of a closure): runs here or nowhere.
        case lua(@Sendable () -> Void)
        /// A Swift task's job (the executor): may move to the pool.
        case swift(UnownedJob)
    }

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopping = false
    /// Set when the thread is given up or stopping: Swift jobs go to the pool.
    private var declining = false
    private var thread = pthread_t()

    init() throws(LuaError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, LuaThread.stackBytes)
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, &attributes,
            { context in
                let me = Unmanaged<LuaThread>.fromOpaque(context!).takeRetainedValue()
                me.loop()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<LuaThread>.fromOpaque(context).release()
            throw LuaError.state("cannot start the Lua thread (pthread_create returned \(result))")
        }
        pthread_detach(thread)
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping { condition.unlock(); return }
            let job = jobs.removeFirst()
            condition.unlock()
            switch job {
            case .lua(let body): body()
            case .swift(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    /// Queues a job; jobs run one at a time in order.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(.lua(job))
        condition.signal()
        condition.unlock()
    }

    /// Runs a job of a task that prefers this thread (or, once the thread is given up or
    /// stopping, hands it to the global pool).
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if declining {
            condition.unlock()
            globalConcurrentExecutor.enqueue(job)
            return
        }
        jobs.append(.swift(job))
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the Lua thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The thread is stuck in one C call for good: its queued Swift jobs, and every later
    /// one, run on the global pool (Lua jobs stay queued behind the stuck one).
    func giveUp() {
        condition.lock()
        declining = true
        let moved = jobs.compactMap { job -> UnownedJob? in
            if case .swift(let j) = job { return j }
            return nil
        }
        jobs.removeAll { if case .swift = $0 { return true } else { return false } }
        condition.unlock()
        for job in moved { globalConcurrentExecutor.enqueue(job) }
    }

    /// Lets the thread finish the queued jobs and exit; later Swift jobs go to the pool.
    func stop() {
        condition.lock()
        stopping = true
        declining = true
        condition.signal()
        condition.unlock()
    }
}
