import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// One request through AsyncHTTPClient's delegate API, on a connection of a chosen event
/// loop, the response's head and body handed from that loop straight to the waiting
/// task. The transport uses it for calls whose caller prefers an executor of its own (a
/// script's sequential calls, on its Lua thread): AsyncHTTPClient's async API starts a
/// task and arms a deadline timer on some loop for every request, and its callbacks may
/// run on a loop other than the connection's; each of those is a thread woken per call.
///
/// The body is buffered up to `bufferLimit` bytes; past that the connection stops
/// reading until the reader catches up, so a server cannot grow the buffer. A body the
/// reader drops before its end cancels the request (the connection is closed, never
/// left leased).
final class PinnedExchange: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void

    /// Body bytes held for the reader before the connection stops reading.
    static let bufferLimit = 256 << 10

    private struct State {
        var head: Result<(status: Int, headers: HTTPHeaders), any Error>?
        var headWaiter: CheckedContinuation<(status: Int, headers: HTTPHeaders), any Error>?
        var parts: [ByteBuffer] = []
        var next = 0
        var buffered = 0
        /// Set when the body ended (success) or failed.
        var end: Result<Void, any Error>?
        var bodyWaiter: CheckedContinuation<ByteBuffer?, any Error>?
        /// The connection waits on this while the buffer is full.
        var paused: EventLoopPromise<Void>?
    }

    private let state = Mutex(State())

    /// Sends `request` on `loop` (a connection of that loop) and returns the response head;
    /// the body follows through `body(cancelling:)`.
    static func send(
        _ request: HTTPClient.Request, with client: HTTPClient, on loop: any EventLoop
    ) async throws -> (status: Int, headers: HTTPHeaders, body: ResponseBody) {
        let exchange = PinnedExchange()
        let task = client.execute(request: request, delegate: exchange, eventLoop: .delegateAndChannel(on: loop))
        // A request the client refuses outright (it is shut down) fails its task without
        // a word to the delegate: the waits end with that failure too.
        task.futureResult.whenFailure { exchange.didReceiveError(task: task, $0) }
        let head = try await withTaskCancellationHandler {
            try await exchange.awaitHead()
        } onCancel: {
            task.cancel()
        }
        return (head.status, head.headers, ResponseBody(Body(reader: Reader(exchange: exchange, task: task))))
    }

    private func awaitHead() async throws -> (status: Int, headers: HTTPHeaders) {
        try await withCheckedThrowingContinuation { c in
            let ready = state.withLock { s -> Result<(status: Int, headers: HTTPHeaders), any Error>? in
                if let head = s.head { return head }
                s.headWaiter = c
                return nil
            }
            if let ready { c.resume(with: ready) }
        }
    }

    /// The next body part; nil at the end.
    fileprivate func nextPart(_ task: HTTPClient.Task<Void>) async throws -> ByteBuffer? {
        if let ready = try takeReady() { return ready.part }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<ByteBuffer?, any Error>) in
                do {
                    if let ready = try takeReady(orWait: c) { c.resume(returning: ready.part) }
                } catch {
                    c.resume(throwing: error)
                }
            }
        } onCancel: {
            task.cancel()
        }
    }

    /// A buffered part, or the end; nil when the reader must wait (then `waiter` waits).
    private func takeReady(
        orWait waiter: CheckedContinuation<ByteBuffer?, any Error>? = nil
    ) throws -> (part: ByteBuffer?, Void)? {
        let (ready, resume) = state.withLock { s -> (Result<ByteBuffer?, any Error>?, EventLoopPromise<Void>?) in
            if s.next < s.parts.count {
                let part = s.parts[s.next]
                s.next += 1
                s.buffered -= part.readableBytes
                if s.next == s.parts.count {
                    s.parts.removeAll(keepingCapacity: true)
                    s.next = 0
                }
                var resume: EventLoopPromise<Void>?
                if s.buffered <= Self.bufferLimit / 2 {
                    resume = s.paused
                    s.paused = nil
                }
                return (.success(part), resume)
            }
            switch s.end {
            case .success?: return (.success(nil), nil)
            case .failure(let error)?: return (.failure(error), nil)
            case nil:
                if let waiter { s.bodyWaiter = waiter }
                return (nil, nil)
            }
        }
        resume?.succeed(())
        guard let ready else { return nil }
        return (try ready.get(), ())
    }

    /// Whether the body reached its end or failed.
    fileprivate var ended: Bool { state.withLock { $0.end != nil } }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let value = (status: Int(head.status.code), headers: head.headers)
        let waiter = state.withLock { s -> CheckedContinuation<(status: Int, headers: HTTPHeaders), any Error>? in
            s.head = .success(value)
            defer { s.headWaiter = nil }
            return s.headWaiter
        }
        waiter?.resume(returning: value)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        typealias Handoff = (waiter: CheckedContinuation<ByteBuffer?, any Error>?, pause: EventLoopPromise<Void>?)
        let (waiter, pause) = state.withLock { s -> Handoff in
            if let waiter = s.bodyWaiter {
                s.bodyWaiter = nil
                return (waiter, nil)
            }
            s.parts.append(buffer)
            s.buffered += buffer.readableBytes
            guard s.buffered > Self.bufferLimit else { return (nil, nil) }
            let promise = task.eventLoop.makePromise(of: Void.self)
            s.paused = promise
            return (nil, promise)
        }
        waiter?.resume(returning: buffer)
        return pause?.futureResult ?? task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        let (headWaiter, bodyWaiter, paused) = state.withLock { s in
            if s.head == nil { s.head = .failure(error) }
            if s.end == nil { s.end = .failure(error) }
            defer { (s.headWaiter, s.bodyWaiter, s.paused) = (nil, nil, nil) }
            return (s.headWaiter, s.bodyWaiter, s.paused)
        }
        headWaiter?.resume(throwing: error)
        bodyWaiter?.resume(throwing: error)
        paused?.succeed(())
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        let (bodyWaiter, paused) = state.withLock { s in
            if s.end == nil { s.end = .success(()) }
            defer { (s.bodyWaiter, s.paused) = (nil, nil) }
            return (s.bodyWaiter, s.paused)
        }
        bodyWaiter?.resume(returning: nil)
        paused?.succeed(())
    }

    /// The reader's hold on the exchange: dropped before the body ended, it cancels the
    /// request.
    private final class Reader: Sendable {
        let exchange: PinnedExchange
        let task: HTTPClient.Task<Void>
        init(exchange: PinnedExchange, task: HTTPClient.Task<Void>) { (self.exchange, self.task) = (exchange, task) }
        func next() async throws -> ByteBuffer? { try await exchange.nextPart(task) }
        deinit { if !exchange.ended { task.cancel() } }
    }

    private struct Body: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let reader: Reader
        struct AsyncIterator: AsyncIteratorProtocol {
            let reader: Reader
            mutating func next() async throws -> ByteBuffer? { try await reader.next() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
    }
}
