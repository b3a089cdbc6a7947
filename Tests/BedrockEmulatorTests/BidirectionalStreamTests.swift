import BedrockRuntime
import BedrockWire
import EmulatorTestSupport
import Foundation
import Testing

@testable import BedrockEmulator

/// InvokeModelWithBidirectionalStream end to end: the BedrockRuntime client and the
/// emulator over TLS + HTTP/2 (ALPN) on 127.0.0.1, every input event signed with the
/// chained event signature and verified by the emulator. Only Nova Sonic is served
/// over a bidirectional stream; every chunk is one event of its speech protocol.
@Suite struct BidirectionalStreamTests {
    static let testKeys = SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")
    static let sonic = "amazon.nova-sonic-v1:0"

    /// One Nova Sonic input event, `{"event": {name: fields}}`, as chunk bytes.
    static func event(_ name: String, _ fields: JSONValue = [:]) -> Data {
        Data(JSONWriter.compact.string(["event": .object([(name, fields)])]).utf8)
    }

    /// sessionStart and promptStart (with `tools`, when given).
    static func opening(tools: JSONValue? = nil) -> [Data] {
        var prompt: JSONValue = ["promptName": "p1"]
        if let tools { prompt["toolConfiguration"] = ["tools": tools] }
        return [event("sessionStart", ["inferenceConfiguration": ["maxTokens": 200]]), event("promptStart", prompt)]
    }

    /// One content: contentStart, its input event, contentEnd.
    static func content(
        _ name: String, role: String = "USER", type: String = "TEXT",
        input: String = "textInput", _ text: String, extra: JSONValue = [:]
    ) -> [Data] {
        var start: JSONValue = [
            "promptName": "p1", "contentName": .string(name), "type": .string(type), "role": .string(role),
        ]
        for (key, value) in extra.objectMembers ?? [] { start[key] = value }
        return [
            event("contentStart", start),
            event(input, ["promptName": "p1", "contentName": .string(name), "content": .string(text)]),
            event("contentEnd", ["promptName": "p1", "contentName": .string(name)]),
        ]
    }

    /// promptEnd and sessionEnd.
    static let closing = [event("promptEnd", ["promptName": "p1"]), event("sessionEnd")]

    /// A whole session asking the model to answer `text`.
    static func session(_ text: String) -> [Data] { opening() + content("u1", text) + closing }

    /// The output event's name and fields.
    static func output(_ data: Data) throws -> (name: String, fields: JSONValue) {
        let value = try JSONParser.parse(Array(data))
        let members = try #require(value["event"]?.objectMembers)
        let first = try #require(members.first)
        return (first.0, first.1)
    }

    /// Runs `body` with a TLS emulator and a client that trusts its generated CA.
    func withTLSEmulator(
        authorizer: (any RequestAuthorizer)? = nil, bearerTokens: [String] = [],
        _ body: (BedrockEmulator, BedrockRuntimeClient) async throws -> Void
    ) async throws {
        try await BedrockEmulator.withStarted(
            .oneThread {
                $0.tls = true; $0.bearerTokens = bearerTokens
            }
        ) { emulator, endpoint in
            let ca = try #require(endpoint.caCertificatePath)
            let client = try BedrockRuntimeClient(
                configuration: .init(
                    region: "us-east-1", endpoint: try BedrockEndpoint.parse(endpoint.url),
                    authorizer: authorizer ?? SigV4Authorizer(region: "us-east-1", credentials: Self.testKeys),
                    timeouts: Timeouts(
                        connect: .seconds(5), firstByte: .seconds(10), idle: .seconds(10), total: .seconds(60)),
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

    @Test("several user turns, each answered before the input is closed")
    func interleavedExchange() async throws {
        try await withTLSEmulator { emulator, client in
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            let stream = try client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
            var output = stream.makeAsyncIterator()
            var answers: [String] = []
            for chunk in Self.opening() { feed.yield(chunk) }
            for (index, word) in ["alpha", "bravo", "charlie"].enumerated() {
                for chunk in Self.content("u\(index)", "Please repeat \(word)") { feed.yield(chunk) }
                // The whole answer to this turn arrives while the input is still open.
                var text = ""
                var names: [String] = []
                while names.last != "completionEnd", let event = try await output.next() {
                    guard case .chunk(let data) = event else { continue }
                    let (name, fields) = try Self.output(data)
                    names.append(name)
                    if name == "textOutput", fields["role"]?.stringValue == "ASSISTANT" {
                        text += fields["content"]?.stringValue ?? ""
                    }
                }
                #expect(names.first == "completionStart")
                #expect(names.last == "completionEnd", "the answer to '\(word)' ended before more input was sent")
                #expect(names.contains("audioOutput") && names.contains("usageEvent"))
                answers.append(text)
            }
            for chunk in Self.closing { feed.yield(chunk) }
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
            func run() async throws -> [String] {
                let input = AsyncStream<Data> { continuation in
                    for chunk in Self.session("Tell me about determinism") { continuation.yield(chunk) }
                    continuation.finish()
                }
                return try await client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                    .collectChunks().output.map { data in
                        // Everything but the session id (the request id) is the same.
                        var (name, fields) = try Self.output(data)
                        fields["sessionId"] = nil
                        return name + JSONWriter.compact.string(fields)
                    }
            }
            let first = try await run()
            let second = try await run()
            #expect(first.count > 3)
            #expect(first == second)
        }
    }

    @Test("spoken input gets a transcript, a text answer and silent speech; a tool is called and its result answered")
    func audioAndTools() async throws {
        try await withTLSEmulator { _, client in
            let tools: JSONValue = [
                [
                    "toolSpec": [
                        "name": "get_weather", "description": "Current weather for a city",
                        "inputSchema": [
                            "json": #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#
                        ],
                    ]
                ]
            ]
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            let stream = try client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
            var output = stream.makeAsyncIterator()
            func turn() async throws -> [(String, JSONValue)] {
                var events: [(String, JSONValue)] = []
                while events.last?.0 != "completionEnd", let event = try await output.next() {
                    if case .chunk(let data) = event { events.append(try Self.output(data)) }
                }
                return events
            }
            for chunk in Self.opening(tools: tools) { feed.yield(chunk) }
            let speech = Data(count: 3200).base64EncodedString()  // 100 ms at 16 kHz
            for chunk in Self.content("a1", type: "AUDIO", input: "audioInput", speech) { feed.yield(chunk) }
            let spoken = try await turn()
            let transcript = spoken.first { $0.0 == "textOutput" && $0.1["role"]?.stringValue == "USER" }
            #expect(transcript?.1["content"]?.stringValue == "(100 ms of speech)")
            let audio = try #require(spoken.first { $0.0 == "audioOutput" }?.1["content"]?.stringValue)
            #expect((Data(base64Encoded: audio)?.count ?? 0) > 0)

            for chunk in Self.content("u1", "What is the weather in Lisbon?") { feed.yield(chunk) }
            let call = try await turn()
            let use = try #require(call.first { $0.0 == "toolUse" }?.1)
            #expect(use["toolName"]?.stringValue == "get_weather")
            let arguments = try JSONParser.parse(Array((use["content"]?.stringValue ?? "").utf8))
            #expect(arguments["city"]?.stringValue != nil)
            #expect(call.last?.1["stopReason"]?.stringValue == "TOOL_USE")

            let id = try #require(use["toolUseId"]?.stringValue)
            for chunk in Self.content(
                "t1", role: "TOOL", type: "TOOL", input: "toolResult", #"{"temperature":"21C"}"#,
                extra: ["toolResultInputConfiguration": ["toolUseId": .string(id), "type": "TEXT"]])
            {
                feed.yield(chunk)
            }
            let answered = try await turn()
            let text = answered.filter { $0.0 == "textOutput" }.compactMap { $0.1["content"]?.stringValue }.joined()
            #expect(text.contains("21C"), "the answer quotes the tool result: \(text)")
            for chunk in Self.closing { feed.yield(chunk) }
            feed.finish()
            #expect(try await output.next() == nil)
        }
    }

    @Test("events out of order, and unknown events, end the stream with a validationException")
    func protocolErrors() async throws {
        try await withTLSEmulator { _, client in
            for chunks in [
                [Self.event("textInput", ["promptName": "p1", "contentName": "x", "content": "hi"])],
                Self.opening() + [
                    Self.event("textInput", ["promptName": "p1", "contentName": "never-started", "content": "hi"])
                ],
                [Self.event("chatMessage", ["text": "hi"])],
            ] {
                let input = AsyncStream<Data> { continuation in
                    for chunk in chunks { continuation.yield(chunk) }
                    continuation.finish()
                }
                let error = await #expect(throws: BedrockError.self) {
                    _ = try await client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                        .collectChunks()
                }
                #expect(error?.serviceCode == .validation)
            }
        }
    }

    @Test("a conversation past 4 MiB ends with a validationException naming the cap")
    func conversationCap() async throws {
        try await withTLSEmulator { _, client in
            let megabyte = String(repeating: "a", count: NovaSonicConversation.maxContentBytes)
            let input = AsyncStream<Data> { continuation in
                for chunk in Self.opening() { continuation.yield(chunk) }
                for index in 0..<5 {
                    for chunk in Self.content("h\(index)", role: "ASSISTANT", megabyte) { continuation.yield(chunk) }
                }
                continuation.finish()
            }
            let error = await #expect(throws: BedrockError.self) {
                _ = try await client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                    .collectChunks()
            }
            #expect(error?.serviceCode == .validation)
            #expect(error?.message.contains("too long for the emulated Nova Sonic") == true)
        }
    }

    @Test("a text model is refused before the stream opens, with the service's advice")
    func textModelRefused() async throws {
        try await withTLSEmulator { _, client in
            let input = AsyncStream<Data> { continuation in
                for chunk in Self.session("hi") { continuation.yield(chunk) }
                continuation.finish()
            }
            let error = await #expect(throws: BedrockError.self) {
                _ = try await client.invokeModelWithBidirectionalStream(modelId: claude, input: input).collectChunks()
            }
            #expect(error?.serviceCode == .validation)
            #expect(error?.httpStatus == 400)
            #expect(error?.message.contains("doesn't support InvokeModelWithBidirectionalStream") == true)
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
            return SigV4EventSigner(
                credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "not-the-secret"),
                region: "us-east-1", seedSignature: genuine?.priorSignature ?? "")
        }
    }

    @Test("an event with a bad chained signature ends the stream with InvalidSignatureException")
    func tamperedSignatureRejected() async throws {
        try await withTLSEmulator(authorizer: ForgedEventSigner()) { emulator, client in
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            for chunk in Self.session("this event is forged") { feed.yield(chunk) }
            let stream = try client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
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
        let forger = SigV4Authorizer(
            region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "nope"))
        try await withTLSEmulator(authorizer: forger) { _, client in
            let input = AsyncStream<Data> { continuation in
                for chunk in Self.session("hi") { continuation.yield(chunk) }
                continuation.finish()
            }
            let error = await #expect(throws: BedrockError.self) {
                _ = try await client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                    .collectChunks()
            }
            #expect(error?.code == "InvalidSignatureException")
            #expect(error?.httpStatus == 403)
        }
    }

    @Test("a chunk that is not a body for the model gets a validationException event")
    func badChunkIsAValidationException() async throws {
        try await withTLSEmulator { _, client in
            let input = AsyncStream<Data> {
                $0.yield(Data("not json".utf8)); $0.finish()
            }
            let error = await #expect(throws: BedrockError.self) {
                _ = try await client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                    .collectChunks()
            }
            #expect(error?.serviceCode == .validation)
            #expect(error?.message.contains("Malformed input request") == true)
        }
    }

    @Test("a bearer-token caller sends unsigned chunk events and is answered")
    func bearerTokenStream() async throws {
        let token = "quarry-bidi-test-token"
        try await withTLSEmulator(
            authorizer: BearerTokenAuthorizer(token: try BearerToken(token)), bearerTokens: [token]
        ) { emulator, client in
            let input = AsyncStream<Data> { continuation in
                for chunk in Self.session("bearer hello") { continuation.yield(chunk) }
                continuation.finish()
            }
            let chunks = try await client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                .collectChunks().output
            let names = try chunks.map { try Self.output($0).name }
            #expect(names.first == "completionStart")
            #expect(names.last == "completionEnd")
            #expect(emulator.requests.last?.principal == "bearer")
        }
    }

    @Test("an injected stream exception arrives after N output events as a typed error")
    func injectedStreamException() async throws {
        try await withTLSEmulator { emulator, client in
            try emulator.addFault(
                FaultRule(
                    operation: "InvokeModelWithBidirectionalStream", times: 1, stream: "exception",
                    afterEvents: 2, exception: "ThrottlingException"))
            let (input, feed) = AsyncStream.makeStream(of: Data.self)
            for chunk in Self.session("this answer is cut short") { feed.yield(chunk) }
            var chunks = 0
            let error = await #expect(throws: BedrockError.self) {
                for try await event in try client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
                {
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
            let stream = try client.invokeModelWithBidirectionalStream(modelId: Self.sonic, input: input)
            let consumer = Task {
                for try await _ in stream { firstOutput.set() }
            }
            for chunk in Self.opening() + Self.content("u1", "keep the line open") { feed.yield(chunk) }
            try await waitUntil { firstOutput.isSet }
            consumer.cancel()
            _ = await consumer.result
            // The emulator sees the client go away while the input was still open.
            try await waitUntil {
                emulator.requests.contains {
                    $0.operation == "InvokeModelWithBidirectionalStream" && $0.error == "ClientClosedStream"
                }
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

/// Polls `condition` every 10 ms; fails after `seconds` (generous: it returns as soon as the
/// condition holds, and a CI machine running every suite at once can be slow to get there).
func waitUntil(seconds: Double = 30, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(seconds) s")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
