import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request as the test server received it.
public struct ReceivedRequest: Sendable {
    public var method: String
    public var uri: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first value of the header `name` (any case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// What the test server does with one request.
public enum ServerAction: Sendable {
    /// How a streamed answer ends.
    public enum Ending: Sendable { case complete, stall, reset }

    /// A complete answer.
    case respond(status: Int, headers: [(String, String)], body: [UInt8])
    /// The head, then `parts` each after its delay, then `ending`.
    case stream(status: Int, headers: [(String, String)], parts: [(delay: TimeAmount, bytes: [UInt8])], ending: Ending)
    /// The head, then `chunk` again and again (each after `gap`) until the client
    /// hangs up: an endless body.
    case endless(status: Int, headers: [(String, String)], chunk: [UInt8], gap: TimeAmount)
    /// Close the connection (with a TCP reset) without answering.
    case reset
    /// Never answer.
    case stall

    /// A complete answer with a text body (e.g. a credential endpoint's JSON or XML).
    public static func text(status: Int = 200, headers: [(String, String)] = [], body: String = "") -> ServerAction {
        .respond(status: status, headers: headers, body: Array(body.utf8))
    }

    public static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> ServerAction {
        .respond(
            status: status,
            headers: [("Content-Type", "application/json"), ("x-amzn-RequestId", "req-\(status)")] + headers,
            body: Array(body.utf8))
    }

    public static func serviceError(
        _ code: String, status: Int, message: String, extra: String = "", headers: [(String, String)] = []
    ) -> ServerAction {
        .respond(
            status: status,
            headers: [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "\(code):http://internal.amazon.com/coral/com.amazon.bedrock/"),
                ("x-amzn-RequestId", "err-req"),
            ] + headers,
            body: Array("{\"message\":\"\(message)\"\(extra)}".utf8))
    }
}

/// A small HTTP/1.1 server on loopback whose answers a test scripts: throttling
/// storms, 5xx bursts, resets, stalls, slow bodies and streams, or a credential
/// endpoint (STS, SSO, container, IMDS), over a real socket.
public final class ScriptedHTTPServer: Sendable {
    public let port: Int
    /// The loopback address it listens on.
    public let host: String
    private let channel: any Channel
    private let log: LockedBox<[ReceivedRequest]>
    private let closed: LockedBox<Int>

    /// Connections the client has closed (or that were reset) so far.
    public var closedConnections: Int { closed.withLockedValue { $0 } }

    /// Requests received so far, in order.
    public var requests: [ReceivedRequest] { log.withLockedValue { $0 } }

    /// `http://host:port`.
    public var endpoint: String { "http://\(host):\(port)" }

    private init(
        port: Int, host: String, channel: any Channel, log: LockedBox<[ReceivedRequest]>, closed: LockedBox<Int>
    ) {
        self.port = port; self.host = host; self.channel = channel; self.log = log; self.closed = closed
    }

    /// Starts a server on `host` (a loopback address); `script` gets each request and
    /// its 0-based number.
    public static func start(
        host: String = "127.0.0.1",
        _ script: @escaping @Sendable (ReceivedRequest, Int) -> ServerAction
    ) async throws -> ScriptedHTTPServer {
        let log = LockedBox<[ReceivedRequest]>([])
        let closed = LockedBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandler(Handler(script: script, log: log, closed: closed))
                }
            }
            .bind(host: host, port: 0).get()
        guard let port = channel.localAddress?.port else { throw CancellationError() }
        return ScriptedHTTPServer(port: port, host: host, channel: channel, log: log, closed: closed)
    }

    public func shutdown() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let script: @Sendable (ReceivedRequest, Int) -> ServerAction
        let log: LockedBox<[ReceivedRequest]>
        let closed: LockedBox<Int>
        var current: ReceivedRequest?

        init(
            script: @escaping @Sendable (ReceivedRequest, Int) -> ServerAction, log: LockedBox<[ReceivedRequest]>,
            closed: LockedBox<Int>
        ) {
            self.script = script; self.log = log; self.closed = closed
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.withLockedValue { $0 += 1 }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(head):
                current = ReceivedRequest(
                    method: head.method.rawValue, uri: head.uri,
                    headers: head.headers.map { ($0.name, $0.value) }, body: [])
            case var .body(buffer):
                current?.body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .end:
                guard let request = current else { return }
                current = nil
                let number = log.withLockedValue { log in
                    log.append(request)
                    return log.count - 1
                }
                perform(script(request, number), context: context)
            }
        }

        func head(_ status: Int, _ headers: [(String, String)], length: Int?) -> HTTPServerResponsePart {
            var h = HTTPHeaders(headers)
            if let length { h.replaceOrAdd(name: "Content-Length", value: String(length)) }
            return .head(
                HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: h))
        }

        func reset(_ context: ChannelHandlerContext) {
            guard let provider = context.channel as? any SocketOptionProvider else {
                context.close(promise: nil)
                return
            }
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        }

        func perform(_ action: ServerAction, context: ChannelHandlerContext) {
            switch action {
            case let .respond(status, headers, body):
                context.write(wrapOutboundOut(head(status, headers, length: body.count)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .reset:
                reset(context)
            case .stall:
                break
            case let .stream(status, headers, parts, ending):
                context.writeAndFlush(wrapOutboundOut(head(status, headers, length: nil)), promise: nil)
                sendParts(ArraySlice(parts), ending: ending, context: context)
            case let .endless(status, headers, chunk, gap):
                context.writeAndFlush(wrapOutboundOut(head(status, headers, length: nil)), promise: nil)
                sendForever(ByteBuffer(bytes: chunk), gap: gap, context: context)
            }
        }

        /// Writes `chunk` after each previous write completes (so the client's reading
        /// paces it), until the connection closes.
        func sendForever(_ chunk: ByteBuffer, gap: TimeAmount, context: ChannelHandlerContext) {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: gap) {
                let (handler, context) = loopBound.value
                guard context.channel.isActive else { return }
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(chunk)))).whenSuccess {
                    let (handler, context) = loopBound.value
                    handler.sendForever(chunk, gap: gap, context: context)
                }
            }
        }

        func sendParts(
            _ parts: ArraySlice<(delay: TimeAmount, bytes: [UInt8])>, ending: ServerAction.Ending,
            context: ChannelHandlerContext
        ) {
            guard let first = parts.first else {
                switch ending {
                case .complete: context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                case .stall: break
                case .reset:
                    // A reset right behind the last write can overtake it (the peer's
                    // kernel drops unread data on RST); give the client time to read what
                    // was sent, as on a real connection cut mid-answer.
                    let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                    context.eventLoop.scheduleTask(in: .milliseconds(600)) {
                        let (handler, context) = loopBound.value
                        handler.reset(context)
                    }
                }
                return
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: first.delay) {
                let (handler, context) = loopBound.value
                guard context.channel.isActive else { return }
                context.writeAndFlush(
                    handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: first.bytes)))), promise: nil)
                handler.sendParts(parts.dropFirst(), ending: ending, context: context)
            }
        }
    }
}

/// A value shared between event-loop threads and the test, behind a lock.
public final class LockedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    public init(_ value: Value) { self.value = Mutex(value) }
    public func withLockedValue<T: Sendable>(_ body: (inout Value) -> T) -> T {
        value.withLock { body(&$0) }
    }
}
