/// Where the tasks a call starts for itself run (its attempt under a watchdog): the
/// executor its caller prefers, when the caller says so. Quarry's host sets it to the
/// run's Lua thread for a script's sequential calls; unset, they run on Swift's pool.
package enum CallExecutor {
    /// The executor a call's own tasks prefer; nil for Swift's global pool.
    @TaskLocal package static var preferred: (any TaskExecutor)?
}

extension Task where Failure == Never {
    /// A task on Swift's pool whose calls run there too, whatever executor the caller's
    /// calls prefer: a stream's pump works beside the script that reads it, not on its
    /// thread.
    package static func onPool(_ operation: @escaping @Sendable () async -> Success) -> Task where Success: Sendable {
        CallExecutor.$preferred.withValue(nil) { Task(operation: operation) }
    }
}

extension CallExecutor {
    /// An answer past this many bytes is decoded on Swift's pool, not on the executor the
    /// call prefers: decoding it is the one step of a call whose cost grows with what a
    /// server sends, and the preferred executor (a script's Lua thread) must stay free to
    /// end the run at its deadline.
    package static let heavyAnswerBytes = 1 << 20

    /// Runs `work`, the decoding of an answer of `bytes` bytes: on Swift's pool when the
    /// answer is heavy and the call prefers another executor, in place otherwise.
    package static func decode<T: Sendable>(
        answerOf bytes: Int, _ work: @Sendable () throws -> T
    ) async throws -> T {
        guard bytes > heavyAnswerBytes, preferred != nil else { return try work() }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { try work() }
    }
}
