import BedrockWire
import Foundation
import NIOCore
import Testing

@testable import BedrockRuntime

/// The request side of InvokeModelWithBidirectionalStream as it goes on the wire: the
/// request signed for event payloads, each input wrapped and chained-signed, a signed
/// empty closing message — checked with BedrockWire's verifier, as a server would.
@Suite struct BidirectionalFramingTests {
    static let keys = SigV4Credentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let url =
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream"

    /// A signed request and the event verifier a server derives from it.
    func signedRequest(at date: Date) async throws -> (SigV4EventSigner, SigV4EventVerifier, OutgoingRequest) {
        var request = OutgoingRequest(
            method: .POST, endpoint: try BedrockEndpoint.parse("https://bedrock-runtime.us-east-1.amazonaws.com"),
            path: "/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream",
            headers: ["Content-Type": "application/vnd.amazon.eventstream"],
            operation: "InvokeModelWithBidirectionalStream")
        let signer = try #require(
            try await SigV4Authorizer(region: "us-east-1", credentials: Self.keys)
                .authorizeEventStream(&request, at: date))
        #expect(request.headers.first(name: "X-Amz-Content-SHA256") == "STREAMING-AWS4-HMAC-SHA256-EVENTS")
        let received = SigV4ReceivedRequest(
            method: "POST", requestTarget: request.path,
            headers: [("host", "bedrock-runtime.us-east-1.amazonaws.com")]
                + request.headers.map { (name: $0.name, value: $0.value) },
            bodySHA256: nil)
        let verified = try SigV4Verifier { $0 == "AKIDEXAMPLE" ? Self.keys : nil }.verify(received, now: date)
        #expect(verified.hasSignedEventPayload)
        #expect(signer.priorSignature == verified.signature)
        return (signer, verified.eventVerifier(), request)
    }

    @Test func everyInputEventIsWrappedAndChainSignedThenClosed() async throws {
        let now = Date()
        let (signer, start, _) = try await signedRequest(at: now)
        let payloads = [Data("first".utf8), Data(repeating: 0x7F, count: 3000), Data("{\"third\":true}".utf8)]
        let input = AsyncStream<Data> { continuation in
            for p in payloads { continuation.yield(p) }
            continuation.finish()
        }
        let frames = Counter()
        let body = SignedEventBody(input: input, signer: signer, now: { now }, onFrame: { frames.increment() })
        var verifier = start
        var decoded: [Data] = []
        var sawClose = false
        for try await buffer in body {
            #expect(!sawClose, "nothing follows the closing message")
            let messages = try EventStreamDecoder.decodeAll(buffer)
            let outer = try #require(messages.first)
            #expect(messages.count == 1)
            #expect(outer.headers.map(\.name) == [":date", ":chunk-signature"])
            guard case .timestamp(let ms)? = outer[header: ":date"],
                case .bytes(let signature)? = outer[header: ":chunk-signature"]
            else {
                Issue.record("missing :date or :chunk-signature")
                return
            }
            try verifier.verify(
                payload: Array(outer.payload.readableBytesView), dateMilliseconds: ms, signature: signature, now: now)
            if outer.payload.readableBytes == 0 {
                sawClose = true
                continue
            }
            let inner = try #require(try EventStreamDecoder.decodeAll(outer.payload).first)
            #expect(inner.eventType == "chunk")
            #expect(inner.messageType == "event")
            #expect(inner.contentType == "application/json")
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(inner.payload.readableBytesView)) as? [String: String])
            decoded.append(try #require(Data(base64Encoded: json["bytes"] ?? "")))
        }
        #expect(decoded == payloads)
        #expect(sawClose)
        #expect(frames.value == 4)
    }

    @Test func aReorderedEventFailsVerification() async throws {
        let now = Date()
        let (signer, start, _) = try await signedRequest(at: now)
        let input = AsyncStream<Data> {
            $0.yield(Data("one".utf8)); $0.yield(Data("two".utf8)); $0.finish()
        }
        var buffers: [ByteBuffer] = []
        for try await buffer in SignedEventBody(input: input, signer: signer, now: { now }, onFrame: {}) {
            buffers.append(buffer)
        }
        #expect(buffers.count == 3)
        let second = try #require(try EventStreamDecoder.decodeAll(buffers[1]).first)
        guard case .timestamp(let ms)? = second[header: ":date"],
            case .bytes(let signature)? = second[header: ":chunk-signature"]
        else {
            Issue.record("missing signature headers")
            return
        }
        var verifier = start
        #expect(throws: SigV4VerificationError.self) {
            try verifier.verify(
                payload: Array(second.payload.readableBytesView), dateMilliseconds: ms, signature: signature, now: now)
        }
    }

    @Test func unsignedCallersSendPlainChunkEvents() async throws {
        let input = AsyncStream<Data> {
            $0.yield(Data("plain".utf8)); $0.finish()
        }
        var buffers: [ByteBuffer] = []
        for try await buffer in SignedEventBody(input: input, signer: nil, now: { Date() }, onFrame: {}) {
            buffers.append(buffer)
        }
        #expect(buffers.count == 1, "no closing message without a signature chain")
        let message = try #require(try EventStreamDecoder.decodeAll(buffers[0]).first)
        #expect(message.eventType == "chunk")
        #expect(message.payloadString == "{\"bytes\":\"\(Data("plain".utf8).base64EncodedString())\"}")
    }

    @Test func anAuthorizerThatCannotSignEventsIsAClearError() async throws {
        struct HeaderOnly: RequestAuthorizer {
            func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {}
        }
        let client = try BedrockRuntimeClient(
            configuration: .init(
                region: "us-east-1", endpoint: try BedrockEndpoint.parse("https://127.0.0.1:1"),
                authorizer: HeaderOnly()))
        let input = AsyncStream<Data> { $0.finish() }
        let error = await bedrockError {
            for try await _ in try client.invokeModelWithBidirectionalStream(modelId: "m", input: input) {}
        }
        #expect(error?.code == "InvalidRequest")
        #expect(error?.message.contains("EventStreamRequestAuthorizer") == true)
        try await client.shutdown()
        #expect(throws: BedrockError.self) {
            _ = try client.invokeModelWithBidirectionalStream(modelId: "", input: input)
        }
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
