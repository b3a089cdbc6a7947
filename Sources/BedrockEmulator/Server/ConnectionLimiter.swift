import NIOCore
import NIOHTTP1
import Synchronization

/// Caps the connections open at once. When the cap is reached a new connection
/// replaces the oldest one that is waiting for its client (idle between requests, or
/// sending a request slowly) — so clients that open connections and say nothing
/// cannot lock others out; when every connection is busy being answered, the new one
/// is closed at once.
final class ConnectionLimiter: Sendable {
    private struct Entry {
        let channel: any Channel
        let serial: UInt64
        var waiting: Bool
    }
    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var serial: UInt64 = 0
    }

    /// The cap.
    let maxConnections: Int
    private let state = Mutex(State())

    init(maxConnections: Int) { self.maxConnections = max(1, maxConnections) }

    /// Registers a newly accepted connection; false when it must be closed instead.
    func admit(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let (admitted, victim): (Bool, (any Channel)?) = state.withLock { state in
            var victim: (any Channel)?
            if state.entries.count >= maxConnections {
                guard let oldest = state.entries.values.filter(\.waiting).min(by: { $0.serial < $1.serial }) else {
                    return (false, nil)
                }
                state.entries[ObjectIdentifier(oldest.channel)] = nil
                victim = oldest.channel
            }
            state.serial += 1
            state.entries[key] = Entry(channel: channel, serial: state.serial, waiting: true)
            return (true, victim)
        }
        // Closed outside the lock: a close on this thread runs the close callbacks at once.
        victim?.close(promise: nil)
        guard admitted else { return false }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { $0.entries[key] = nil }
        }
        return true
    }

    /// Marks a connection as waiting for its client (evictable) or busy being answered.
    func setWaiting(_ channel: any Channel, _ waiting: Bool) {
        state.withLock { state in
            state.entries[ObjectIdentifier(channel)]?.waiting = waiting
        }
    }

    /// Connections open now.
    var count: Int { state.withLock { $0.entries.count } }
}

/// Closes an HTTP/1.1 connection whose client keeps the server waiting: the request
/// head must be complete within `timeout` of the connection opening (or of the last
/// response ending), and body parts must keep coming at least every `timeout`. While
/// the server is answering, no timer runs (stalls and slow streams are the emulator's
/// own doing). Also tells the ``ConnectionLimiter`` when the connection is evictable.
final class RequestIdleHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private let limiter: ConnectionLimiter
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, limiter: ConnectionLimiter) {
        self.timeout = timeout
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) { wait(context) }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            arm(context)  // the body (if any) must now keep coming
        case .body:
            arm(context)
        case .end:
            timer?.cancel()
            timer = nil
            limiter.setWaiting(context.channel, false)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let future = context.write(data)
            future.whenComplete { _ in
                let (handler, context) = loopBound.value
                handler.wait(context)
            }
            future.cascade(to: promise)
            return
        }
        context.write(data, promise: promise)
    }

    private func wait(_ context: ChannelHandlerContext) {
        limiter.setWaiting(context.channel, true)
        arm(context)
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }
}

/// The request-body bytes buffered across all connections at once: each request's
/// body is bounded by itself (`maxBodyBytes`), and this bounds their sum, so many
/// connections that each send almost a whole body and stall cannot take the memory.
final class BodyBudget: Sendable {
    /// The most bytes buffered at once.
    let capacity: Int
    private let used = Mutex(0)

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// Takes `bytes` from the budget; false (nothing taken) when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes >= 0, bytes <= capacity - used else { return false }
            used += bytes
            return true
        }
    }

    /// Gives back bytes taken by ``reserve(_:)``.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    /// Bytes buffered now.
    var inUse: Int { used.withLock { $0 } }
}

/// Tracks an HTTP/2 connection's open streams: while none is open the connection is
/// waiting for its client — evictable by the ``ConnectionLimiter`` and closed after
/// `timeout` — and while one is, it is busy (bidirectional streams may be long-lived).
final class HTTP2IdleHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Whatever reaches the end of the pipeline passes through untouched.
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private let limiter: ConnectionLimiter
    private var channel: (any Channel)?
    private var openStreams = 0
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, limiter: ConnectionLimiter) {
        self.timeout = timeout
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        wait()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        channel = nil
    }

    /// A stream of this connection opened (called on its event loop).
    func streamOpened() {
        openStreams += 1
        guard openStreams == 1, let channel else { return }
        timer?.cancel()
        timer = nil
        limiter.setWaiting(channel, false)
    }

    /// A stream of this connection closed (called on its event loop).
    func streamClosed() {
        openStreams = max(0, openStreams - 1)
        if openStreams == 0 { wait() }
    }

    private func wait() {
        guard let channel else { return }
        limiter.setWaiting(channel, true)
        timer?.cancel()
        timer = channel.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    /// Registers `stream` with its connection's handler, if it has one.
    static func track(_ stream: any Channel) {
        guard let parent = stream.parent,
            let handler = try? parent.pipeline.syncOperations.handler(type: HTTP2IdleHandler.self)
        else { return }
        handler.streamOpened()
        let bound = NIOLoopBound(handler, eventLoop: stream.eventLoop)
        stream.closeFuture.whenComplete { _ in bound.value.streamClosed() }
    }
}
