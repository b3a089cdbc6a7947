import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 server on 127.0.0.1 (random port) playing STS, SSO, the container
/// endpoint or IMDS for one test: every request is recorded and answered by `route`.
final class LocalHTTPServer: Sendable {
    struct Request: Sendable {
        let method: String
        let uri: String
        let headers: [(name: String, value: String)]
        let body: [UInt8]
        var bodyText: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    struct Response: Sendable {
        var status: Int = 200
        var headers: [(String, String)] = []
        var body: String = ""
    }

    typealias Route = @Sendable (Request) -> Response

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let recorded = RequestLog()
    let port: Int
    let host: String
    var baseURL: String { "http://\(host):\(port)" }
    var requests: [Request] { recorded.all }

    init(host: String = "127.0.0.1", route: @escaping Route) throws {
        self.host = host
        let recorded = self.recorded
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(route: route, recorded: recorded))
                }
            }
            .bind(host: host, port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let route: Route
        let recorded: RequestLog
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(route: @escaping Route, recorded: RequestLog) {
            self.route = route
            self.recorded = recorded
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body += buffer.readableBytesView
            case .end:
                guard let head else { return }
                let request = Request(method: head.method.rawValue, uri: head.uri,
                                      headers: head.headers.map { ($0.name, $0.value) }, body: body)
                recorded.append(request)
                let response = route(request)
                var headers = HTTPHeaders(response.headers)
                headers.replaceOrAdd(name: "Content-Length", value: String(response.body.utf8.count))
                let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: response.status),
                                                    headers: headers)
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// The requests a server received, shared between its event loop and the test.
final class RequestLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [LocalHTTPServer.Request] = []

    func append(_ request: LocalHTTPServer.Request) { lock.withLock { entries.append(request) } }
    var all: [LocalHTTPServer.Request] { lock.withLock { entries } }
}
