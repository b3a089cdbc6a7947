import Logging
import NIOCore
import NIOHTTP1
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
        let tls = self.tls
        let maxBody = service.configuration.maxBodyBytes
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let channel = server.channel
        let boundPort = channel.localAddress?.port ?? port
        let task = Task { [service, logger] in
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask {
                                await Self.serve(connection, service: service, maxBody: maxBody, logger: logger)
                            }
                        }
                    }
                } catch {
                    logger.debug("emulator listener ended: \(error)")
                }
                group.cancelAll()
            }
        }
        return (boundPort, task, channel)
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }

    private static func serve(_ connection: Connection, service: EmulatorService, maxBody: Int, logger: Logger) async {
        let channel = connection.channel
        do {
            try await withTaskCancellationHandler {
                try await handleRequests(on: connection, service: service, maxBody: maxBody)
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            logger.trace("emulator connection ended: \(error)")
        }
    }

    private static func handleRequests(on connection: Connection, service: EmulatorService, maxBody: Int) async throws {
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = channel.allocator.buffer(capacity: 0)
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
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
                        let keepAlive = try await write(response, to: outbound, channel: channel, keepAlive: requestHead.isKeepAlive)
                        if !keepAlive { return }
                    }
                }
            }
        }
    }

    /// Writes a response; returns whether the connection stays open.
    private static func write(_ response: EmulatorResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
                              channel: any Channel, keepAlive: Bool) async throws -> Bool {
        switch response {
        case .complete(let status, let headers, let body):
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
            return keepAlive
        case .stream(let status, let headers, let frames, let pacing):
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
            head.headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            try await outbound.write(.head(head))
            for (index, frame) in frames.enumerated() {
                if index > 0 && pacing.delayMilliseconds > 0 {
                    try await Task.sleep(for: .milliseconds(pacing.delayMilliseconds))
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
            try? await (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            try? await channel.close()
            return false
        }
    }
}
