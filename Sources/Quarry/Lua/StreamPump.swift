import Foundation
import Synchronization

/// Reads a Bedrock event stream in the background and hands it to Lua in batches.
///
/// A stream of 200,000 text deltas is normal, so the script must not pay a Swift round
/// trip per event: each `next` takes every event that has arrived (up to a cap) in one
/// suspension, and the pump keeps reading while Lua works through the batch. Events are
/// encoded into the sandbox's value format as they arrive (`LuaListWriter`), on the
/// pump's task rather than the Lua thread, so a batch crosses to Lua in one piece.
///
/// What waits for Lua is bounded in bytes, not only in events: once `maxQueuedBytes`
/// of encoded events wait, the pump stops reading the client's stream, so a script
/// that does not read (or reads slowly) leaves the bytes in the client, whose
/// `maxStreamBytes` cap on unread events then ends the call with `ResponseTooLarge`.
/// One hand-over to Lua is at most about `maxBatchBytes` (a piece is closed at the
/// event that reaches it), so a legit stream never asks the sandbox for more than it
/// can take at once.
final class StreamPump: @unchecked Sendable {
    /// What one `next` hands back: events, and when the stream is over, how it ended.
    struct Batch: Sendable {
        /// The events as one Lua sequence (an empty table when there are none).
        var events: LuaValue
        var count: Int
        var finished: Bool
        var result: LuaValue?
        var failure: ScriptError?
    }

    private let lock = Mutex(())
    /// Encoded events waiting for Lua, in the pieces they were pushed in.
    private var queue: [LuaEncodedList] = []
    private var pending = 0
    /// Encoded bytes in `queue`.
    private var pendingBytes = 0
    private var finished = false
    private var result: LuaValue?
    private var failure: ScriptError?
    private var consumer: CheckedContinuation<Void, Never>?
    private var producer: CheckedContinuation<Void, Never>?
    private var task: Task<Void, Never>?
    private let batchLimit: Int
    private let highWater: Int
    private let maxBatchBytes: Int
    private let maxQueuedBytes: Int

    /// At most `batchLimit` events and `maxBatchBytes` encoded bytes per hand-over; the
    /// pump stops reading once `highWater` events or `maxQueuedBytes` bytes wait.
    init(batchLimit: Int = 16_384, highWater: Int = 65_536, maxBatchBytes: Int = 1 << 20, maxQueuedBytes: Int = 4 << 20)
    {
        self.batchLimit = max(1, batchLimit)
        self.highWater = max(1, highWater)
        self.maxBatchBytes = max(1, maxBatchBytes)
        self.maxQueuedBytes = max(1, maxQueuedBytes)
    }

    /// Starts reading `open()`'s events, encoding each with `write`; `finish` makes the
    /// final result (or turns the failure into the script's error).
    func start<Event: Sendable>(
        open: @escaping @Sendable () async throws -> BedrockEventStream<Event>,
        write: @escaping @Sendable (Event, inout LuaListWriter) throws(LuaConversionError) -> Void,
        finish: @escaping @Sendable (BedrockEventStream<Event>?, (any Error)?) async -> (LuaValue?, ScriptError?)
    ) {
        let t = Task.onPool { [self] in
            var stream: BedrockEventStream<Event>?
            do {
                let s = try await open()
                stream = s
                var batches = s.makeBatchIterator()
                while let events = try await batches.next() {
                    var writer = LuaListWriter()
                    // Each piece is queued as soon as it is full: the pump never holds
                    // more than the queue's bound plus one piece.
                    for event in events {
                        try write(event, &writer)
                        if writer.count >= batchLimit || writer.byteCount >= maxBatchBytes {
                            await push(writer.finish())
                        }
                    }
                    if writer.count > 0 { await push(writer.finish()) }
                }
                let (value, error) = await finish(s, nil)
                end(result: value, failure: error)
            } catch let error as LuaConversionError {
                _ = await finish(stream, nil)
                end(result: nil, failure: ScriptError(code: .validationError, message: "stream event: \(error)"))
            } catch {
                let (value, failure) = await finish(stream, error)
                end(result: value, failure: failure ?? ScriptError.from(error))
            }
        }
        lock.withLock { _ in task = t }
    }

    /// Queues encoded events, wakes the consumer, and waits while too much is buffered.
    private func push(_ piece: LuaEncodedList) async {
        if enqueue(piece) {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let waits = lock.withLock { _ in
                    guard isFull && !Task.isCancelled else { return false }
                    producer = c
                    return true
                }
                if !waits { c.resume() }
            }
        }
    }

    /// Whether the producer must wait for Lua to take events (call under the lock).
    private var isFull: Bool { pending >= highWater || pendingBytes >= maxQueuedBytes }

    /// Queues the piece and wakes the consumer; true when the producer should wait.
    private func enqueue(_ piece: LuaEncodedList) -> Bool {
        let (wake, mustWait) = lock.withLock { _ in
            queue.append(piece)
            pending += piece.count
            pendingBytes += piece.byteCount
            let wake = consumer
            consumer = nil
            return (wake, isFull)
        }
        wake?.resume()
        return mustWait
    }

    private func end(result: LuaValue?, failure: ScriptError?) {
        let wake = lock.withLock { _ in
            finished = true
            self.result = result
            self.failure = failure
            let wake = consumer
            consumer = nil
            return wake
        }
        wake?.resume()
    }

    /// Waits for at least one event or the end, then takes what is there. A cancelled
    /// wait (a `race` branch that lost) returns at once with a `Cancelled` ending, and
    /// stops the stream.
    func next() async -> Batch {
        while true {
            if let batch = take() { return batch }
            if Task.isCancelled {
                cancel()
                return Batch(
                    events: .map([:]), count: 0, finished: true, result: nil,
                    failure: ScriptError(code: .cancelled, message: "stream: the wait was cancelled"))
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let waits = lock.withLock { _ in
                        guard pending == 0 && !finished && !Task.isCancelled else { return false }
                        consumer = c
                        return true
                    }
                    if !waits { c.resume() }
                }
            } onCancel: {
                wakeConsumer()
            }
        }
    }

    /// Resumes a waiting consumer, if any (it then looks again).
    private func wakeConsumer() {
        let wake = lock.withLock { _ in
            let wake = consumer
            consumer = nil
            return wake
        }
        wake?.resume()
    }

    private func take() -> Batch? {
        lock.withLock { _ in takeLocked() }
    }

    /// `take`'s work, under the lock.
    private func takeLocked() -> Batch? {
        if pending > 0 {
            // Joins queued pieces into one batch of at most `batchLimit` events and
            // `maxBatchBytes` bytes (a piece passes that only by its last event).
            var list = queue.removeFirst()
            while let next = queue.first, list.count + next.count <= batchLimit,
                list.byteCount + next.byteCount <= maxBatchBytes
            {
                list.append(next)
                queue.removeFirst()
            }
            pending -= list.count
            pendingBytes -= list.byteCount
            let wake = isFull ? nil : producer
            if wake != nil { producer = nil }
            wake?.resume()
            let done = finished && pending == 0
            return Batch(
                events: .encodedList(list), count: list.count, finished: done,
                result: done ? result : nil, failure: done ? failure : nil)
        }
        if finished { return Batch(events: .map([:]), count: 0, finished: true, result: result, failure: failure) }
        return nil
    }

    /// Events and encoded bytes waiting for Lua now, and whether the stream has ended.
    var queued: (events: Int, bytes: Int, finished: Bool) {
        lock.withLock { _ in (pending, pendingBytes, finished) }
    }

    /// Why a stream was stopped before its end: its call record says so (`errorCode`),
    /// so observers never count a stream nobody finished reading as a success.
    enum StopReason: String, Sendable {
        /// The script called `close()`.
        case closed = "StreamClosed"
        /// The run was cancelled (`cancel()`, a cancelled task, a lost `race` branch).
        case cancelled = "Cancelled"
        /// The run ended while the stream was still open (the script stopped reading).
        case abandoned = "StreamAbandoned"
    }

    private var stopReason: StopReason?

    /// Why the stream was stopped, if it was (the first reason given).
    var stoppedBy: StopReason? { lock.withLock { _ in stopReason } }

    /// Stops reading and closes the connection.
    func cancel(_ reason: StopReason = .cancelled) {
        let (t, wake) = lock.withLock { _ in
            if stopReason == nil && !finished { stopReason = reason }
            let wake = producer
            producer = nil
            return (task, wake)
        }
        t?.cancel()
        wake?.resume()
    }

    /// Returns once the pump's task has ended (its final record made).
    func ended() async {
        let t = lock.withLock { _ in task }
        await t?.value
    }

    deinit { task?.cancel() }
}
