// `BenchStaticServer`: the benchmark's replay server. It has no logic on purpose: every
// request, signed or not, gets one of two fixed answers, so a benchmark against it
// measures the client alone.
//
//   BenchStaticServer [--port N] [--stream-events N] [--threads N]
//
// - `POST …/converse-stream` → a real ConverseStream event-stream body (messageStart,
//   N contentBlockDelta events, contentBlockStop, messageStop, metadata), framed with
//   BedrockWire's writer once at start;
// - any other request → a real Converse JSON answer.
// Prints one line `listening on 127.0.0.1:PORT` once it accepts connections.
import BedrockWire
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The two fixed answers, built once.
struct FixedAnswers: Sendable {
    let converse: ByteBuffer
    let converseStream: ByteBuffer

    init(streamEvents: Int) throws {
        converse = ByteBuffer(
            string:
                #"{"metrics":{"latencyMs":12},"output":{"message":{"content":[{"text":"Hello! How can I help you today?"}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":9,"outputTokens":9,"totalTokens":18}}"#
        )
        converseStream = try StreamBody.make(deltas: streamEvents)
    }
}

/// A ConverseStream body as the service frames it: every payload carries the `"p"`
/// padding field the service adds.
enum StreamBody {
    static func make(deltas: Int) throws -> ByteBuffer {
        let writer = EventStreamWriter()
        var body = ByteBuffer()
        body.reserveCapacity(deltas * 140 + 1024)
        try writer.writeEvent(
            "messageStart", payload: ByteBuffer(string: #"{"p":"abcdefgh","role":"assistant"}"#), into: &body)
        let padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for i in 0..<deltas {
            let pad = padding.prefix(i % 37)
            try writer.writeEvent(
                "contentBlockDelta",
                payload: ByteBuffer(string: #"{"contentBlockIndex":0,"delta":{"text":"t\#(i % 10) "},"p":"\#(pad)"}"#),
                into: &body)
        }
        try writer.writeEvent(
            "contentBlockStop", payload: ByteBuffer(string: #"{"contentBlockIndex":0,"p":"ab"}"#), into: &body)
        try writer.writeEvent(
            "messageStop", payload: ByteBuffer(string: #"{"p":"abc","stopReason":"end_turn"}"#), into: &body)
        try writer.writeEvent(
            "metadata",
            payload: ByteBuffer(
                string:
                    #"{"metrics":{"latencyMs":5},"p":"a","usage":{"inputTokens":9,"outputTokens":\#(deltas),"totalTokens":\#(deltas + 9)}}"#
            ), into: &body)
        return body
    }
}

/// Answers every request on a connection with a fixed body (keep-alive).
final class FixedAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let answers: FixedAnswers

    init(answers: FixedAnswers) { self.answers = answers }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Remember which answer this request gets; the body is ignored.
            pending = head
        case .body:
            break
        case .end:
            guard let head = pending else { return }
            pending = nil
            let isStream = head.uri.hasSuffix("/converse-stream")
            let body = isStream ? answers.converseStream : answers.converse
            var headers = HTTPHeaders()
            headers.add(
                name: "Content-Type", value: isStream ? "application/vnd.amazon.eventstream" : "application/json")
            headers.add(name: "x-amzn-RequestId", value: "00000000-0000-4000-8000-000000000000")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    private var pending: HTTPRequestHead?
}

@main
struct BenchStaticServer {
    static func main() throws {
        var port = 0
        var streamEvents = 200_000
        var threads = 1
        var arguments = CommandLine.arguments.dropFirst()
        while let flag = arguments.popFirst() {
            guard let value = arguments.popFirst().flatMap(Int.init), value >= 0 else {
                FileHandle.standardError.write(
                    Data("usage: BenchStaticServer [--port N] [--stream-events N] [--threads N]\n".utf8))
                exit(2)
            }
            switch flag {
            case "--port": port = value
            case "--stream-events": streamEvents = value
            case "--threads": threads = max(1, value)
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
        let answers = try FixedAnswers(streamEvents: streamEvents)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FixedAnswerHandler(answers: answers))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        let bound = channel.localAddress?.port ?? port
        FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(bound)\n".utf8))
        try channel.closeFuture.wait()
    }
}
