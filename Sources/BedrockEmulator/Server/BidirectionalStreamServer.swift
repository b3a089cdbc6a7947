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
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard case .operation(.invokeModelWithBidirectionalStream, let modelID?, _) = Route.match(method: head.method.rawValue, path: path)
        else { return nil }
        return modelID
    }

    static func serve(_ head: HTTPRequestHead, modelID: String, parts: inout Inbound, outbound: Outbound,
                      channel: any Channel, service: EmulatorService) async throws {
        let request = EmulatorRequest(method: head.method.rawValue, target: head.uri, headers: head.headers,
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
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders(session.responseHeaders))))
        while !finished {
            let step: BidirectionalSession.Step
            switch try await parts.next() {
            case .body(let bytes)?: step = session.receive(bytes)
            case .end?, nil: step = session.endOfInput()
            case .head?: step = session.receive(ByteBuffer())  // not sent on an HTTP/2 stream
            }
            finished = step.finished
            try await send(step, to: outbound, channel: channel)
        }
    }

    private static func send(_ step: BidirectionalSession.Step, to outbound: Outbound, channel: any Channel) async throws {
        for (index, frame) in step.frames.enumerated() {
            if index > 0, step.delay > .zero { try await Task.sleep(for: step.delay) }
            if step.finished, step.ending == .truncateLast, index == step.frames.count - 1 {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: frame.prefix(max(1, frame.count / 2))))))
                try? await channel.close()
                return
            }
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: frame))))
        }
        guard step.finished else { return }
        if step.ending == .close {
            try? await channel.close()
            return
        }
        try await outbound.write(.end(nil))
    }
}
