import AsyncHTTPClient
import NIOCore

/// A `TaskExecutor` over one event loop of the transport's NIO group
/// (`HTTPClient.defaultEventLoopGroup`, which `AsyncHTTPClientTransport` uses).
///
/// Why: a task that prefers it runs its nonisolated code on that loop's thread, the
/// thread AsyncHTTPClient reads and writes the call's connection on (a request started
/// on a loop of the group gets a connection on that loop). A call then no longer hops
/// between Swift's cooperative pool and the event loop: each hop was a thread wake-up
/// and a context switch, about a fifth of a sequential Converse call's CPU.
/// (NIO 2.101 offers a `SerialExecutor` for actors over a loop, no `TaskExecutor`.)
///
/// Only work that never blocks belongs here: a job that blocks the loop stalls every
/// connection and task on it. The benchmark uses it to measure calls made from the
/// loop; Quarry's hosts do not (a run driven from a loop let a slow call observer or a
/// large hostile answer hold the run past its deadline: see the README's Performance).

final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop jobs run on.
    let loop: any EventLoop

    private init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One executor per loop of the transport's group, made once (one identity per loop:
    /// a task resumed on the executor it prefers is not enqueued again).
    private static let all: [EventLoopTaskExecutor] = HTTPClient.defaultEventLoopGroup.makeIterator()
        .map(EventLoopTaskExecutor.init)

    /// The executor of the loop the caller is running on; nil off the group's loops
    /// (then a task made with it as preference behaves as one made without).
    static var current: EventLoopTaskExecutor? {
        for executor in all where executor.loop.inEventLoop { return executor }
        return nil
    }

    /// The executor of the group's next loop (round robin), for a new unit of work such
    /// as a script's run.
    static func next() -> EventLoopTaskExecutor? {
        let loop = HTTPClient.defaultEventLoopGroup.next()
        for executor in all where executor.loop === loop { return executor }
        return nil
    }
}
