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
