import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The listening socket and per-connection loops: HTTP/1.1 (optionally over TLS),
/// each request handed to the ``EmulatorService`` and its response written back,
/// including paced and broken event streams, stalls and resets.
final class HTTPServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Wraps an accepted channel. NIO's non-deprecated initializer traps (a precondition,
    /// in release builds too) when the wrapper is released without `executeThenClose`,
    /// which happens to a connection accepted as the listener stops: it waits in the
    /// listener's stream and is dropped with it (a CI run crashed so). This one closes
    /// such a channel instead; every connection that is served still goes through
    /// `executeThenClose`.
    static func wrapQuietly<Inbound, Outbound>(_ channel: any Channel) throws -> NIOAsyncChannel<Inbound, Outbound> {
        try NIOAsyncChannel(synchronouslyWrapping: channel)
    }

    private let service: EmulatorService
    private let group: MultiThreadedEventLoopGroup
    private let tls: NIOSSLContext?
    private let logger: Logger
    private let limiter: ConnectionLimiter
    private let hostCheck: HostCheck
    private let idleTimeout: TimeAmount
    private let bodyBudget: BodyBudget

    init(service: EmulatorService, tls: NIOSSLContext?, threads: Int, logger: Logger) {
        self.service = service
        self.tls = tls
        self.logger = logger
        self.limiter = ConnectionLimiter(maxConnections: service.configuration.maxConnections)
        self.hostCheck = HostCheck(configuration: service.configuration)
        self.bodyBudget = BodyBudget(capacity: service.configuration.maxBufferedBodyBytes)
        let idle = service.configuration.idleTimeout.components
        let idleNanoseconds =
            idle.seconds > 86_400
            ? Int64(86_400 * 1_000_000_000)
            : max(1_000_000, idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000)
        self.idleTimeout = .nanoseconds(idleNanoseconds)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads > 0 ? threads : System.coreCount)
    }

    /// Binds and returns the server channel plus the task that serves it.
    func start(host: String, port: Int) async throws -> (port: Int, task: Task<Void, Never>, channel: any Channel) {
        if let tls { return try await startTLS(host: host, port: port, tls: tls) }
        let limits = RequestLimits(
            maxBody: service.configuration.maxBodyBytes, hostCheck: hostCheck, bodyBudget: bodyBudget)
        let (limiter, idleTimeout) = (self.limiter, self.idleTimeout)
        let server = try await bootstrap()
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = limiter.admit(channel)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RequestIdleHandler(timeout: idleTimeout, limiter: limiter))
                    let connection: Connection = try Self.wrapQuietly(channel)
                    if !admitted { channel.close(promise: nil) }
                    return connection
                }
            }
        hostCheck.bound(to: server.channel.localAddress?.port ?? port)
        let task = Task { [service, logger] in
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask {
                                await Self.serve(
                                    connection, service: service, limits: limits, http2: false, logger: logger)
                            }
                        }
                    }
                } catch {
                    logger.debug("emulator listener ended: \(error)")
                }
                group.cancelAll()
            }
        }
        return (server.channel.localAddress?.port ?? port, task, server.channel)
    }

    private func bootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    }

    /// TLS with ALPN: `h2` connections get one ``Connection`` per HTTP/2 stream (through
    /// NIOHTTP2's HTTP/1 codec, so the same request loop serves both), `http/1.1`
    /// connections are served as plain HTTP/1.1.
    private func startTLS(host: String, port: Int, tls: NIOSSLContext) async throws -> (
        port: Int, task: Task<Void, Never>, channel: any Channel
    ) {
        let limits = RequestLimits(
            maxBody: service.configuration.maxBodyBytes, hostCheck: hostCheck, bodyBudget: bodyBudget)
        let (limiter, idleTimeout) = (self.limiter, self.idleTimeout)
        let server = try await bootstrap()
            .bind(host: host, port: port) { channel in
                // The TLS handshake and ALPN must finish within the idle timeout.
                let admitted = limiter.admit(channel)
                let handshakeDeadline = channel.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
                if !admitted { channel.close(promise: nil) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                }.flatMap {
                    channel.configureAsyncHTTPServerPipeline(
                        http1ConnectionInitializer: { connection in
                            handshakeDeadline.cancel()
                            return connection.eventLoop.makeCompletedFuture {
                                try connection.pipeline.syncOperations.addHandler(
                                    RequestIdleHandler(timeout: idleTimeout, limiter: limiter))
                                return try Self.wrapQuietly(connection) as Connection
                            }
                        },
                        http2ConnectionInitializer: { connection in
                            // Waiting for its client (evictable, closed after the idle timeout)
                            // while no stream is open; busy while one is (bidirectional streams
                            // are long-lived).
                            handshakeDeadline.cancel()
                            return connection.eventLoop.makeCompletedFuture {
                                try connection.pipeline.syncOperations.addHandler(
                                    HTTP2IdleHandler(timeout: idleTimeout, limiter: limiter))
                                return connection
                            }
                        },
                        http2StreamInitializer: { stream in
                            stream.eventLoop.makeCompletedFuture {
                                HTTP2IdleHandler.track(stream)
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                return try Self.wrapQuietly(stream) as Connection
                            }
                        })
                }
            }
        hostCheck.bound(to: server.channel.localAddress?.port ?? port)
        let task = Task { [service, logger] in
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { connections in
                        for try await negotiation in connections {
                            group.addTask {
                                guard let negotiated = try? await negotiation.get() else { return }
                                switch negotiated {
                                case .http1_1(let connection):
                                    await Self.serve(
                                        connection, service: service, limits: limits, http2: false, logger: logger)
                                case .http2(let (channel, multiplexer)):
                                    // The stream loop runs in its own task: a cancelled iteration would
                                    // drop streams the multiplexer already accepted, and NIO traps on an
                                    // async channel dropped unrun. Cancelling closes the connection
                                    // instead, which ends the loop after every stream was served.
                                    let streamsLoop = Task {
                                        await withDiscardingTaskGroup { streams in
                                            do {
                                                for try await stream in multiplexer.inbound {
                                                    streams.addTask {
                                                        await Self.serve(
                                                            stream, service: service, limits: limits, http2: true,
                                                            logger: logger)
                                                    }
                                                }
                                            } catch {
                                                logger.trace("emulator HTTP/2 connection ended: \(error)")
                                            }
                                        }
                                    }
                                    await withTaskCancellationHandler {
                                        await streamsLoop.value
                                    } onCancel: {
                                        channel.close(promise: nil)
                                    }
                                }
                            }
                        }
                    }
                } catch {
                    logger.debug("emulator listener ended: \(error)")
                }
                group.cancelAll()
            }
        }
        return (server.channel.localAddress?.port ?? port, task, server.channel)
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }

    private static func serve(
        _ connection: Connection, service: EmulatorService, limits: RequestLimits, http2: Bool, logger: Logger
    ) async {
        let channel = connection.channel
        do {
            try await withTaskCancellationHandler {
                try await handleRequests(on: connection, service: service, limits: limits, http2: http2)
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            logger.trace("emulator connection ended: \(error)")
        }
    }

    /// What a request is allowed before its body is read.
    struct RequestLimits: Sendable {
        /// The largest body of a request whose head authenticated.
        var maxBody: Int
        /// The largest body of an admin API request (checked by the admin token once read).
        var maxAdminBody = 64 * 1024
        /// How much of a refused request's body is read (and dropped) so the refusal can
        /// be answered on a live connection; beyond it the connection is closed.
        var maxDiscardedBody = 64 * 1024
        var hostCheck: HostCheck
        /// The body bytes buffered across all connections at once.
        var bodyBudget: BodyBudget
    }

    /// What happens to the body of the request being read.
    private enum BodyPlan {
        /// Buffered up to the limit (then answered with a size error).
        case buffer(limit: Int)
        /// Refused at its head: dropped unread, answered with this error at its end.
        case refuse(ServiceError, dropped: Int)
        /// Answered early and half-closed: what the client still sends is dropped (up
        /// to `maxDiscardedBody` more) so the answer is not lost to a reset.
        case linger(dropped: Int)
    }

    /// Reads requests one by one. Each head is checked first — the `Host` header, then
    /// whatever authentication the head can prove (``RequestAuthenticator/authenticateHead(_:)``)
    /// — and only then is the body buffered: a request refused at its head has its
    /// body dropped (at most `maxDiscardedBody`, then the connection is closed), is
    /// never recorded, and never reaches an operation.
    private static func handleRequests(
        on connection: Connection, service: EmulatorService, limits: RequestLimits, http2: Bool
    ) async throws {
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                // Body bytes this connection holds in the shared budget, given back when
                // its request is answered or the connection ends.
                var reserved = 0
                defer { limits.bodyBudget.release(reserved) }
                var head: HTTPRequestHead?
                var body = channel.allocator.buffer(capacity: 0)
                var tooLarge = false
                var plan = BodyPlan.buffer(limit: limits.maxBody)
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    switch part {
                    case .head(let requestHead):
                        body.clear()
                        tooLarge = false
                        head = requestHead
                        plan = Self.plan(for: requestHead, service: service, limits: limits, http2: http2)
                        if http2, case .refuse(let error, _) = plan {
                            // An HTTP/2 stream can be answered and ended at once.
                            _ = try await write(
                                service.refusal(error, headers: requestHead.headers), to: outbound, channel: channel,
                                keepAlive: true, http2: true)
                            return
                        }
                        if http2, let modelID = BidirectionalStreamServer.modelID(requestHead) {
                            // Read and answered as it streams, never buffered.
                            try await BidirectionalStreamServer.serve(
                                requestHead, modelID: modelID, parts: &parts,
                                outbound: outbound, channel: channel, service: service)
                            return
                        }
                    case .body(var chunk):
                        switch plan {
                        case .buffer(let limit):
                            if body.readableBytes + chunk.readableBytes > limit {
                                tooLarge = true
                            } else if limits.bodyBudget.reserve(chunk.readableBytes) {
                                reserved += chunk.readableBytes
                                body.writeBuffer(&chunk)
                            } else {
                                // Every connection's buffered bodies together are over the budget:
                                // refuse this request, free its bytes and close its connection
                                // (half-closed first, as for a refused head, so the answer arrives).
                                limits.bodyBudget.release(reserved)
                                reserved = 0
                                body = channel.allocator.buffer(capacity: 0)
                                let error = ServiceError(
                                    .serviceUnavailable,
                                    "The emulator is buffering too many request bodies "
                                        + "(the \(limits.bodyBudget.capacity)-byte max_buffered_body_bytes limit). Try again later."
                                )
                                _ = try await write(
                                    service.errorResponse(error, requestID: "-"), to: outbound, channel: channel,
                                    keepAlive: false, http2: http2)
                                if http2 { return }
                                try? await channel.close(mode: .output)
                                plan = .linger(dropped: 0)
                            }
                        case .refuse(let error, let dropped):
                            let total = dropped + chunk.readableBytes
                            if total > limits.maxDiscardedBody {
                                // Answer now and half-close; the rest of the body is dropped for a
                                // short while (a close with unread input would reset the answer away).
                                _ = try await write(
                                    service.refusal(error, headers: head?.headers), to: outbound, channel: channel,
                                    keepAlive: false, http2: http2)
                                try? await channel.close(mode: .output)
                                plan = .linger(dropped: 0)
                            } else {
                                plan = .refuse(error, dropped: total)
                            }
                        case .linger(let dropped):
                            let total = dropped + chunk.readableBytes
                            if total > limits.maxDiscardedBody * 16 { return }
                            plan = .linger(dropped: total)
                        }
                    case .end:
                        guard let requestHead = head else { continue }
                        head = nil
                        let response: EmulatorResponse
                        switch plan {
                        case .linger:
                            return
                        case .refuse(let error, _):
                            response = service.refusal(error, headers: requestHead.headers)
                        case .buffer(let limit):
                            let request = EmulatorRequest(
                                method: requestHead.method.rawValue, target: requestHead.uri,
                                headers: requestHead.headers, body: body)
                            response =
                                tooLarge
                                ? service.errorResponse(
                                    .validation("The request body is larger than the \(limit)-byte limit."),
                                    requestID: "-")
                                : await service.handle(request)
                        }
                        body = channel.allocator.buffer(capacity: 0)
                        limits.bodyBudget.release(reserved)
                        reserved = 0
                        let keepAlive = try await write(
                            response, to: outbound, channel: channel,
                            keepAlive: http2 || requestHead.isKeepAlive, http2: http2)
                        if !keepAlive { return }
                    }
                }
            }
        }
    }

    /// Decides from a request's head alone whether its body will be read.
    private static func plan(for head: HTTPRequestHead, service: EmulatorService, limits: RequestLimits, http2: Bool)
        -> BodyPlan
    {
        if let refusal = limits.hostCheck.refusal(head.headers["host"]) { return .refuse(refusal, dropped: 0) }
        let path =
            head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if case .admin? = Route.match(method: head.method.rawValue, path: path) {
            return .buffer(limit: limits.maxAdminBody)
        }
        if http2, BidirectionalStreamServer.modelID(head) != nil {
            return .buffer(limit: 0)  // streamed: its session authenticates the head and each signed event
        }
        let request = EmulatorRequest(
            method: head.method.rawValue, target: head.uri, headers: head.headers, body: ByteBuffer())
        do {
            try service.authenticator.authenticateHead(request)
        } catch {
            return .refuse(error, dropped: 0)
        }
        return .buffer(limit: limits.maxBody)
    }

    /// Writes a response; returns whether the connection stays open.
    static func write(
        _ response: EmulatorResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel, keepAlive: Bool, http2: Bool
    ) async throws -> Bool {
        switch response {
        case .complete(let status, let headers, let body):
            var head = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
            // An answer to HEAD says the length its GET would have, with no body.
            if !(body.isEmpty && head.headers.contains(name: "Content-Length")) {
                head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            }
            if !keepAlive && !http2 { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
            return keepAlive
        case .stream(let status, let headers, let frames, let pacing):
            var head = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
            if !http2 { head.headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked") }
            try await outbound.write(.head(head))
            for (index, frame) in frames.enumerated() {
                if index > 0 && pacing.delay > .zero {
                    try await Task.sleep(for: pacing.delay)
                }
                if case .truncate(let after) = pacing.ending, index == after {
                    try await outbound.write(
                        .body(.byteBuffer(ByteBuffer(bytes: frame.prefix(max(1, frame.count / 2))))))
                    try? await channel.close()
                    return false
                }
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: frame))))
            }
            try await outbound.write(.end(nil))
            if case .close = pacing.ending {
                try? await channel.close()
                return false
            }
            return keepAlive
        case .stall:
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            return false
        case .reset:
            // On HTTP/2 the stream's parent is the TCP connection: reset that. (On
            // HTTP/1.1 the parent is the listening socket, which must stay open.)
            let connection = http2 ? (channel.parent ?? channel) : channel
            try? await (connection as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            try? await connection.close()
            return false
        }
    }
}
