import BedrockRuntime
import BedrockWire
import EmulatorTestSupport
import Foundation
import Testing
@testable import BedrockEmulator

/// InvokeModelWithBidirectionalStream end to end: the BedrockRuntime client and the
/// emulator over TLS + HTTP/2 (ALPN) on 127.0.0.1, every input event signed with the
/// chained event signature and verified by the emulator.
@Suite struct BidirectionalStreamTests {
    static let testKeys = SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")

    /// A native Claude body asking the emulator's model to answer `text`.
    static func claudeBody(_ text: String) -> Data {
        Data(#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":60,"messages":[{"role":"user","content":"\#(text)"}]}"#.utf8)
    }

    /// Runs `body` with a TLS emulator and a client that trusts its generated CA.
    func withTLSEmulator(authorizer: (any RequestAuthorizer)? = nil, bearerTokens: [String] = [],
                         _ body: (BedrockEmulator, BedrockRuntimeClient) async throws -> Void) async throws {
        try await BedrockEmulator.withStarted(.oneThread { $0.tls = true; $0.bearerTokens = bearerTokens }) { emulator, endpoint in
            let ca = try #require(endpoint.caCertificatePath)
            let client = try BedrockRuntimeClient(configuration: .init(
                region: "us-east-1", endpoint: try BedrockEndpoint.parse(endpoint.url),
                authorizer: authorizer ?? SigV4Authorizer(region: "us-east-1", credentials: Self.testKeys),
                timeouts: Timeouts(connect: .seconds(5), firstByte: .seconds(10), idle: .seconds(10), total: .seconds(60)),
                tls: TLSSettings(caBundlePath: ca)))
            do {
                try await body(emulator, client)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    /// The Claude stream chunk's JSON.
    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("several chunks, each answered before the input is closed")
    func interleavedExchange() async throws {
        try await withTLSEmulator { emulator, client in
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            let stream = try client.invokeModelWithBidirectionalStream(modelId: claude, input: input)
            var output = stream.makeAsyncIterator()
            var answers: [String] = []
            for word in ["alpha", "bravo", "charlie"] {
                feed.yield(Self.claudeBody("Please repeat \(word)"))
                // The whole answer to this chunk arrives while the input is still open.
                var text = ""
                var stopped = false
                while !stopped, let event = try await output.next() {
                    guard case .chunk(let data) = event else { continue }
                    let chunk = try Self.json(data)
                    if chunk["type"] as? String == "content_block_delta",
                       let delta = chunk["delta"] as? [String: Any], let piece = delta["text"] as? String {
                        text += piece
                    }
                    stopped = chunk["type"] as? String == "message_stop"
                }
                #expect(stopped, "the answer to '\(word)' ended with message_stop before more input was sent")
                answers.append(text)
            }
            feed.finish()
            #expect(try await output.next() == nil)
            #expect(answers.count == 3)
            for (answer, word) in zip(answers, ["alpha", "bravo", "charlie"]) {
                #expect(answer.contains(word), "answer '\(answer)' echoes '\(word)'")
            }
            #expect(stream.attempts.count == 1)
            #expect(stream.attempts.first?.outcome == .success)
            #expect(stream.requestId?.count == 36)
            let record = try #require(emulator.requests.last)
            #expect(record.operation == "InvokeModelWithBidirectionalStream")
            #expect(record.error == nil)
            #expect(record.principal == "test")
            #expect((record.outputTokens ?? 0) > 0)
        }
    }

    @Test("the same input gives the same output (deterministic model)")
    func deterministic() async throws {
        try await withTLSEmulator { _, client in
            func run() async throws -> [Data] {
                let input = AsyncStream<Data> { continuation in
                    continuation.yield(Self.claudeBody("Tell me about determinism"))
                    continuation.finish()
                }
                return try await client.invokeModelWithBidirectionalStream(modelId: claude, input: input).collectChunks().output
            }
            let first = try await run().map { try Self.json($0)["type"] as? String }
            let second = try await run().map { try Self.json($0)["type"] as? String }
            #expect(first.count > 3)
            #expect(first == second)
        }
    }

    /// Signs the request correctly but the events with a wrong secret, as a tampered
    /// or forged event would be signed.
    struct ForgedEventSigner: EventStreamRequestAuthorizer {
        let real = SigV4Authorizer(region: "us-east-1", credentials: BidirectionalStreamTests.testKeys)
        func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {
            try await real.authorize(&request, at: date)
        }
        func authorizeEventStream(_ request: inout OutgoingRequest, at date: Date) async throws -> SigV4EventSigner? {
            let genuine = try await real.authorizeEventStream(&request, at: date)
            return SigV4EventSigner(credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "not-the-secret"),
                                    region: "us-east-1", seedSignature: genuine?.priorSignature ?? "")
        }
    }

    @Test("an event with a bad chained signature ends the stream with InvalidSignatureException")
    func tamperedSignatureRejected() async throws {
        try await withTLSEmulator(authorizer: ForgedEventSigner()) { emulator, client in
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            feed.yield(Self.claudeBody("this event is forged"))
            let stream = try client.invokeModelWithBidirectionalStream(modelId: claude, input: input)
            var chunks = 0
            let error = await #expect(throws: BedrockError.self) {
                for try await event in stream { if case .chunk = event { chunks += 1 } }
            }
            feed.finish()
            #expect(chunks == 0, "nothing is answered for an event that fails verification")
            #expect(error?.code == "InvalidSignatureException")
            #expect(error?.message.contains(":chunk-signature") == true)
            #expect(error?.isRetryable == false)
            let record = try #require(emulator.requests.last)
            #expect(record.operation == "InvokeModelWithBidirectionalStream")
            #expect(record.error == "InvalidSignatureException")
        }
    }

    @Test("a request signed with a wrong secret is refused before the stream opens")
    func wrongSecretRefused() async throws {
        let forger = SigV4Authorizer(region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "nope"))
        try await withTLSEmulator(authorizer: forger) { _, client in
            let input = AsyncStream<Data> { $0.yield(Self.claudeBody("hi")); $0.finish() }
            let error = await #expect(throws: BedrockError.self) {
                _ = try await client.invokeModelWithBidirectionalStream(modelId: claude, input: input).collectChunks()
            }
            #expect(error?.code == "InvalidSignatureException")
            #expect(error?.httpStatus == 403)
        }
    }

    @Test("a chunk that is not a body for the model gets a validationException event")
    func badChunkIsAValidationException() async throws {
        try await withTLSEmulator { _, client in
            let input = AsyncStream<Data> { $0.yield(Data("not json".utf8)); $0.finish() }
            let error = await #expect(throws: BedrockError.self) {
                _ = try await client.invokeModelWithBidirectionalStream(modelId: claude, input: input).collectChunks()
            }
            #expect(error?.serviceCode == .validation)
            #expect(error?.message.contains("Malformed input request") == true)
        }
    }

    @Test("a bearer-token caller sends unsigned chunk events and is answered")
    func bearerTokenStream() async throws {
        let token = "quarry-bidi-test-token"
        try await withTLSEmulator(authorizer: BearerTokenAuthorizer(token: try BearerToken(token)), bearerTokens: [token]) { emulator, client in
            let input = AsyncStream<Data> { $0.yield(Self.claudeBody("bearer hello")); $0.finish() }
            let chunks = try await client.invokeModelWithBidirectionalStream(modelId: claude, input: input).collectChunks().output
            let types = try chunks.map { try Self.json($0)["type"] as? String }
            #expect(types.first == "message_start")
            #expect(types.last == "message_stop")
            #expect(emulator.requests.last?.principal == "bearer")
        }
    }

    @Test("an injected stream exception arrives after N output events as a typed error")
    func injectedStreamException() async throws {
        try await withTLSEmulator { emulator, client in
            try emulator.addFault(FaultRule(operation: "InvokeModelWithBidirectionalStream", times: 1, stream: "exception",
                                            afterEvents: 2, exception: "ThrottlingException"))
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            feed.yield(Self.claudeBody("this answer is cut short"))
            var chunks = 0
            let error = await #expect(throws: BedrockError.self) {
                for try await event in try client.invokeModelWithBidirectionalStream(modelId: claude, input: input) {
                    if case .chunk = event { chunks += 1 }
                }
            }
            feed.finish()
            #expect(chunks == 2)
            #expect(error?.serviceCode == .throttling)
            #expect(emulator.requests.last?.fault == "stream")
        }
    }

    @Test("cancelling the consuming task closes the stream and stops reading the input")
    func cancellationClosesTheStream() async throws {
        try await withTLSEmulator { emulator, client in
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            let inputEnded = Flag()
            feed.onTermination = { _ in inputEnded.set() }
            let firstOutput = Flag()
            let stream = try client.invokeModelWithBidirectionalStream(modelId: claude, input: input)
            let consumer = Task {
                for try await _ in stream { firstOutput.set() }
            }
            feed.yield(Self.claudeBody("keep the line open"))
            try await waitUntil { firstOutput.isSet }
            consumer.cancel()
            _ = await consumer.result
            // The emulator sees the client go away while the input was still open.
            try await waitUntil {
                emulator.requests.contains { $0.operation == "InvokeModelWithBidirectionalStream" && $0.error == "ClientClosedStream" }
            }
            try await waitUntil { inputEnded.isSet }
            try await waitUntil { stream.attempts.first?.outcome == .cancelled }
            #expect(inputEnded.isSet)
        }
    }
}

/// A thread-safe boolean set once.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Polls `condition` every 10 ms; fails after `seconds`.
func waitUntil(seconds: Double = 5, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(seconds) s")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
