import NIOCore
import NIOPosix

/// A TCP server on loopback that records the first request head it receives on each
/// connection (e.g. a proxy's `CONNECT`), answers 403 and closes: a stand-in proxy
/// that must (or must not) see a request.
public final class RecordingProxy: Sendable {
    public let port: Int
    private let channel: any Channel
    private let heads: LockedBox<[String]>
    /// The request heads received so far, one a connection.
    public var requests: [String] { heads.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel, heads: LockedBox<[String]>) {
        self.port = port; self.channel = channel; self.heads = heads
    }

    public static func start() async throws -> RecordingProxy {
        let heads = LockedBox<[String]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.addHandler(Handler(heads: heads))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw CancellationError() }
        return RecordingProxy(port: port, channel: channel, heads: heads)
    }

    public func shutdown() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let heads: LockedBox<[String]>
        var received = ""
        var answered = false
        init(heads: LockedBox<[String]>) { self.heads = heads }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received += buffer.readString(length: buffer.readableBytes) ?? ""
            guard !answered, let end = received.range(of: "\r\n\r\n") else { return }
            answered = true
            let head = String(received[..<end.lowerBound])
            heads.withLockedValue { $0.append(head) }
            let answer = context.channel.allocator.buffer(
                string: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
            context.close(mode: .output, promise: nil)
        }
    }
}
