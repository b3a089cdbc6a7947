import NIOCore
import NIOHTTP1

/// Serves InvokeModelWithBidirectionalStream on an HTTP/2 stream: the response head
/// goes out as soon as the request head is accepted, then every piece of the request
/// body is handed to a ``BidirectionalSession`` the moment it arrives and its answer
/// written straight away, so output interleaves with input.
enum BidirectionalStreamServer {
    typealias Inbound = NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    typealias Outbound = NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    /// The model id when `head` is a bidirectional stream request.
    static func modelID(_ head: HTTPRequestHead) -> String? {
        let path =
            head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard
            case .operation(.invokeModelWithBidirectionalStream, let modelID?, _) = Route.match(
                method: head.method.rawValue, path: path)
        else { return nil }
        return modelID
    }

    static func serve(
        _ head: HTTPRequestHead, modelID: String, parts: inout Inbound, outbound: Outbound,
        channel: any Channel, service: EmulatorService
    ) async throws {
        let request = EmulatorRequest(
            method: head.method.rawValue, target: head.uri, headers: head.headers,
            body: ByteBuffer())
        let (opened, refusal) = await BidirectionalSession.open(request, modelID: modelID, service: service)
        guard let session = opened else {
            if let refusal {
                _ = try await HTTPServer.write(refusal, to: outbound, channel: channel, keepAlive: true, http2: true)
            }
            return
        }
        var finished = false
        defer { if !finished { session.abandoned() } }
        try await outbound.write(
            .head(HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders(session.responseHeaders))))
        var inputEnded = false
        while !finished {
            let step: BidirectionalSession.Step
            switch try await parts.next() {
            case .body(let bytes)?: step = session.receive(bytes)
            case .end?:
                inputEnded = true
                step = session.endOfInput()
            case nil:
                return  // the client reset or closed the stream: `abandoned()` records it
            case .head?: step = session.receive(ByteBuffer())  // not sent on an HTTP/2 stream
            }
            finished = step.finished
            if try await send(step, to: outbound, channel: channel) {
                // The response ends only after the client ended its input: AsyncHTTPClient's
                // HTTP/2 state machine cannot take a response end while it is still sending.
                if !inputEnded { await drain(&parts, channel: channel) }
                try? await outbound.write(.end(nil))
            }
        }
    }

    /// Once the answer is complete, reads (and drops) what the client still sends until
    /// it ends its half of the stream; after 5 s the stream is closed instead.
    private static func drain(_ parts: inout Inbound, channel: any Channel) async {
        let timer = Task {
            try await Task.sleep(for: .seconds(5))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        while let part = try? await parts.next() {
            if case .end = part { return }
        }
    }

    /// Writes a step's frames; returns whether the answer is complete and the response
    /// should end cleanly once the client has ended its input.
    private static func send(_ step: BidirectionalSession.Step, to outbound: Outbound, channel: any Channel)
        async throws -> Bool
    {
        for (index, frame) in step.frames.enumerated() {
            if index > 0, step.delay > .zero { try await Task.sleep(for: step.delay) }
            if step.finished, step.ending == .truncateLast, index == step.frames.count - 1 {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: frame.prefix(max(1, frame.count / 2))))))
                try? await channel.close()
                return false
            }
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: frame))))
        }
        guard step.finished else { return false }
        if step.ending == .close {
            try? await channel.close()
            return false
        }
        return true
    }
}
