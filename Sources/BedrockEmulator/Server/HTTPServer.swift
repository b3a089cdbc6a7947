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

    private let service: EmulatorService
    private let group: MultiThreadedEventLoopGroup
    private let tls: NIOSSLContext?
    private let logger: Logger

    init(service: EmulatorService, tls: NIOSSLContext?, threads: Int, logger: Logger) {
        self.service = service
        self.tls = tls
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads > 0 ? threads : System.coreCount)
    }

    /// Binds and returns the server channel plus the task that serves it.
    func start(host: String, port: Int) async throws -> (port: Int, task: Task<Void, Never>, channel: any Channel) {
        if let tls { return try await startTLS(host: host, port: port, tls: tls) }
        let maxBody = service.configuration.maxBodyBytes
        let server = try await bootstrap()
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let task = Task { [service, logger] in
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask {
                                await Self.serve(connection, service: service, maxBody: maxBody, http2: false, logger: logger)
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
    private func startTLS(host: String, port: Int, tls: NIOSSLContext) async throws -> (port: Int, task: Task<Void, Never>, channel: any Channel) {
        let maxBody = service.configuration.maxBodyBytes
        let server = try await bootstrap()
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                }.flatMap {
                    channel.configureAsyncHTTPServerPipeline(
                        http1ConnectionInitializer: { connection in
                            connection.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: connection) }
                        },
                        http2ConnectionInitializer: { connection in
                            connection.eventLoop.makeSucceededFuture(connection)
                        },
                        http2StreamInitializer: { stream in
                            stream.eventLoop.makeCompletedFuture {
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                return try Connection(wrappingChannelSynchronously: stream)
                            }
                        })
                }
            }
        let task = Task { [service, logger] in
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { connections in
                        for try await negotiation in connections {
                            group.addTask {
                                guard let negotiated = try? await negotiation.get() else { return }
                                switch negotiated {
                                case .http1_1(let connection):
                                    await Self.serve(connection, service: service, maxBody: maxBody, http2: false, logger: logger)
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
                                                        await Self.serve(stream, service: service, maxBody: maxBody, http2: true, logger: logger)
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

    private static func serve(_ connection: Connection, service: EmulatorService, maxBody: Int, http2: Bool, logger: Logger) async {
        let channel = connection.channel
        do {
            try await withTaskCancellationHandler {
                try await handleRequests(on: connection, service: service, maxBody: maxBody, http2: http2)
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            logger.trace("emulator connection ended: \(error)")
        }
    }

    private static func handleRequests(on connection: Connection, service: EmulatorService, maxBody: Int, http2: Bool) async throws {
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = channel.allocator.buffer(capacity: 0)
                var tooLarge = false
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    switch part {
                    case .head(let requestHead):
                        if http2, let modelID = BidirectionalStreamServer.modelID(requestHead) {
                            // Read and answered as it streams, never buffered.
                            try await BidirectionalStreamServer.serve(requestHead, modelID: modelID, parts: &parts,
                                                                      outbound: outbound, channel: channel, service: service)
                            return
                        }
                        head = requestHead
                        body.clear()
                        tooLarge = false
                    case .body(var chunk):
                        if body.readableBytes + chunk.readableBytes > maxBody { tooLarge = true } else { body.writeBuffer(&chunk) }
                    case .end:
                        guard let requestHead = head else { continue }
                        head = nil
                        let request = EmulatorRequest(method: requestHead.method.rawValue, target: requestHead.uri,
                                                      headers: requestHead.headers, body: body)
                        let response: EmulatorResponse = tooLarge
                            ? service.errorResponse(.validation("The request body is larger than the \(maxBody)-byte limit."), requestID: "-")
                            : await service.handle(request)
                        let keepAlive = try await write(response, to: outbound, channel: channel,
                                                        keepAlive: http2 || requestHead.isKeepAlive, http2: http2)
                        if !keepAlive { return }
                    }
                }
            }
        }
    }

    /// Writes a response; returns whether the connection stays open.
    static func write(_ response: EmulatorResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
                              channel: any Channel, keepAlive: Bool, http2: Bool) async throws -> Bool {
        switch response {
        case .complete(let status, let headers, let body):
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            if !keepAlive && !http2 { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
            return keepAlive
        case .stream(let status, let headers, let frames, let pacing):
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
            if !http2 { head.headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked") }
            try await outbound.write(.head(head))
            for (index, frame) in frames.enumerated() {
                if index > 0 && pacing.delay > .zero {
                    try await Task.sleep(for: pacing.delay)
                }
                if case .truncate(let after) = pacing.ending, index == after {
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: frame.prefix(max(1, frame.count / 2))))))
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
