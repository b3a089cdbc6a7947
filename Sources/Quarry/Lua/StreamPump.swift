import Foundation

/// Reads a Bedrock event stream in the background and hands it to Lua in batches.
///
/// A stream of 200,000 text deltas is normal, so the script must not pay a Swift round
/// trip per event: each `next` takes every event that has arrived (up to a cap) in one
/// suspension, and the pump keeps reading while Lua works through the batch.
final class StreamPump: @unchecked Sendable {
    /// What one `next` hands back: events, and when the stream is over, how it ended.
    struct Batch: Sendable {
        var events: [LuaValue]
        var finished: Bool
        var result: LuaValue?
        var failure: ScriptError?
    }

    private let lock = NSLock()
    private var buffer: [LuaValue] = []
    private var finished = false
    private var result: LuaValue?
    private var failure: ScriptError?
    private var consumer: CheckedContinuation<Void, Never>?
    private var producer: CheckedContinuation<Void, Never>?
    private var task: Task<Void, Never>?
    private let batchLimit: Int
    private let highWater: Int

    init(batchLimit: Int = 16_384, highWater: Int = 65_536) {
        self.batchLimit = batchLimit
        self.highWater = highWater
    }

    /// Starts reading `open()`'s events, converting each with `convert`; `finish` makes the
    /// final result (or turns the failure into the script's error).
    func start<Event: Sendable>(open: @escaping @Sendable () async throws -> BedrockEventStream<Event>,
                                convert: @escaping @Sendable (Event) -> LuaValue,
                                finish: @escaping @Sendable (BedrockEventStream<Event>?, (any Error)?) -> (LuaValue?, ScriptError?)) {
        let t = Task { [self] in
            var stream: BedrockEventStream<Event>?
            do {
                let s = try await open()
                stream = s
                var batches = s.makeBatchIterator()
                while let events = try await batches.next() {
                    var values: [LuaValue] = []
                    values.reserveCapacity(events.count)
                    for event in events { values.append(convert(event)) }
                    await push(values)
                }
                let (value, error) = finish(s, nil)
                end(result: value, failure: error)
            } catch {
                let (value, failure) = finish(stream, error)
                end(result: value, failure: failure ?? ScriptError.from(error))
            }
        }
        lock.lock()
        task = t
        lock.unlock()
    }

    private func append(_ values: [LuaValue]) -> Bool {
        lock.lock()
        if buffer.isEmpty { buffer = values } else { buffer.append(contentsOf: values) }
        let wake = consumer
        consumer = nil
        let mustWait = buffer.count >= highWater
        lock.unlock()
        wake?.resume()
        return mustWait
    }

    private func push(_ values: [LuaValue]) async {
        let mustWait = append(values)
        if mustWait {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if buffer.count >= highWater && !Task.isCancelled {
                    producer = c
                    lock.unlock()
                } else {
                    lock.unlock()
                    c.resume()
                }
            }
        }
    }

    private func end(result: LuaValue?, failure: ScriptError?) {
        lock.lock()
        finished = true
        self.result = result
        self.failure = failure
        let wake = consumer
        consumer = nil
        lock.unlock()
        wake?.resume()
    }

    /// Waits for at least one event or the end, then takes what is there.
    func next() async -> Batch {
        while true {
            if let batch = take() { return batch }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if buffer.isEmpty && !finished {
                    consumer = c
                    lock.unlock()
                } else {
                    lock.unlock()
                    c.resume()
                }
            }
        }
    }

    private func take() -> Batch? {
        lock.lock()
        defer { lock.unlock() }
        if !buffer.isEmpty {
            let events: [LuaValue]
            if buffer.count <= batchLimit {
                events = buffer
                buffer.removeAll(keepingCapacity: true)
            } else {
                events = Array(buffer[..<batchLimit])
                buffer.removeFirst(batchLimit)
            }
            let wake = producer
            producer = nil
            wake?.resume()
            let done = finished && buffer.isEmpty
            return Batch(events: events, finished: done, result: done ? result : nil, failure: done ? failure : nil)
        }
        if finished { return Batch(events: [], finished: true, result: result, failure: failure) }
        return nil
    }

    /// Stops reading and closes the connection.
    func cancel() {
        lock.lock()
        let t = task
        let wake = producer
        producer = nil
        lock.unlock()
        t?.cancel()
        wake?.resume()
    }

    deinit { task?.cancel() }
}
