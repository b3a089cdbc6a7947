import Foundation

/// The one thread all Lua of a sandbox runs on: a thread we own with a large stack
/// (Lua's parser, pattern matcher and `tostring` chains recurse in C), fed by a job
/// queue so async Swift code can drive it.
final class LuaThread: @unchecked Sendable {
    /// The stack size: 16 MiB (DESIGN.md asks for at least 8 MiB).
    static let stackBytes = 16 << 20

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false
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
            job()
        }
    }

    /// Queues a job; jobs run one at a time in order.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the Lua thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Lets the thread finish the queued jobs and exit.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }
}
