import Foundation
import NIOCore
import NIOPosix
@testable import BedrockRuntime

/// Runs `body`, giving up after `seconds` (nil then): a guard so that a regression
/// (a hang) fails the test instead of stalling the suite. Not a performance check.
/// The body runs unstructured, so a body that ignores cancellation cannot hold the
/// guard (a task group would wait for it).
func withinGuard<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async -> T) async -> T? {
    let once = ResumeOnce()
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let work = Task {
            let value = await body()
            if once.claim() { continuation.resume(returning: value) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            if once.claim() {
                work.cancel()
                continuation.resume(returning: nil)
            }
        }
    }
}

/// Lets exactly one of several racers resume a continuation.
final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.withLock {
            if done { return false }
            done = true
            return true
        }
    }
}

/// The error `body` throws, as text with its type (nil when it returns).
func thrownError(_ body: () async throws -> Void) async -> (any Error)? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// A TCP server on loopback that records the first request head it receives on each
/// connection (e.g. a proxy's `CONNECT`), answers 403 and closes: a stand-in proxy
/// that must (or must not) see a request.
final class RecordingProxy: Sendable {
    let port: Int
    private let channel: any Channel
    private let heads: LockedBox<[String]>
    var requests: [String] { heads.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel, heads: LockedBox<[String]>) {
        self.port = port; self.channel = channel; self.heads = heads
    }

    static func start() async throws -> RecordingProxy {
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

    func shutdown() async { try? await channel.close() }

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
            let answer = context.channel.allocator.buffer(string: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
            context.close(mode: .output, promise: nil)
        }
    }
}
