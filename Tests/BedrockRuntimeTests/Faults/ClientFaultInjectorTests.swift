import BedrockEmulator
import BedrockRuntime
import BedrockWire
import Foundation
import Testing

/// The client-side fault injector, driven through a real client against the emulator
/// on 127.0.0.1: every effect must reach the caller as the right `BedrockError`, and
/// the client's own retry must run on it.
@Suite("ClientFaultInjectorTests")
struct ClientFaultInjectorTests {
    static let model = "anthropic.claude-3-haiku-20240307-v1:0"
    static let fastRetry = RetryConfiguration(
        maxAttempts: 3, throttlingBaseDelay: .milliseconds(10), baseDelay: .milliseconds(5),
        maxBackoff: .milliseconds(400))

    /// A started emulator and a client (SigV4, test/test) with `faults` in its transport.
    func withClient(
        region: String = "us-east-1", retry: RetryConfiguration = fastRetry,
        // Generous: on a busy CI machine a connect took over 2 s and the attempt was retried.
        timeouts: Timeouts = Timeouts(
            connect: .seconds(10), firstByte: .seconds(10), idle: .seconds(10), total: .seconds(40)),
        streamRetry: StreamRetryPolicy = .failWithPartialResult,
        _ body: (BedrockEmulator, ClientFaultInjector, BedrockRuntimeClient) async throws -> Void
    ) async throws {
        var configuration = EmulatorConfiguration()
        configuration.threads = 1
        let emulator = BedrockEmulator(configuration: configuration)
        let endpoint = try await emulator.start()
        let faults = ClientFaultInjector()
        do {
            let client = try BedrockRuntimeClient(
                configuration: .init(
                    region: region, endpoint: try BedrockEndpoint.parse(endpoint.url),
                    authorizer: SigV4Authorizer(
                        region: region, credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")),
                    retry: retry, timeouts: timeouts, middlewares: [faults], streamRetry: streamRetry))
            do {
                try await body(emulator, faults, client)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        } catch {
            await emulator.stop()
            throw error
        }
        await emulator.stop()
    }

    func converse(_ client: BedrockRuntimeClient, _ text: String = "Hello") async throws -> BedrockResult<
        ConverseResponse
    > {
        try await client.converse(ConverseRequest(modelId: Self.model, messages: [.user(text)]))
    }

    func caught(_ body: () async throws -> Void) async -> BedrockError? {
        do { try await body(); return nil } catch let e as BedrockError { return e } catch { return nil }
    }

    @Test("throttling twice: the client retries and the third attempt reaches the emulator")
    func throttlingRetried() async throws {
        try await withClient { emulator, faults, client in
            try faults.add(FaultRule(operation: "Converse", times: 2, error: "ThrottlingException"))
            let result = try await converse(client)
            #expect(result.attempts.count == 3)
            #expect(
                result.attempts.prefix(2).allSatisfy { $0.errorCode == "ThrottlingException" && $0.httpStatus == 429 })
            #expect(result.attempts.prefix(2).allSatisfy { $0.waitBeforeNext != nil })
            #expect(result.attempts.last?.outcome == .success)
            #expect(emulator.requests.count == 1, "injected errors are answered locally, never sent")
            #expect(faults.injections.map(\.effect) == ["ThrottlingException", "ThrottlingException"])
            #expect(faults.active.isEmpty, "a rule with times = 2 expires after two hits")
        }
    }

    @Test("every one of the 12 service errors arrives with its code and status; only transient ones are retried")
    func allServiceErrors() async throws {
        try await withClient { emulator, faults, client in
            for code in BedrockErrorCode.allCases {
                faults.clear()
                try faults.add(FaultRule(operation: "Converse", error: code.rawValue))
                let error = try #require(await caught { _ = try await converse(client) }, "\(code)")
                #expect(error.code == code.rawValue)
                #expect(error.httpStatus == code.httpStatus)
                #expect(error.message.contains("injected by client fault rule"))
                #expect(error.attempts.count == (code.isTransient ? 3 : 1), "\(code)")
            }
            #expect(emulator.requests.isEmpty)
        }
    }

    @Test("retry_after_ms sets x-amz-retry-after, and the client waits that long")
    func retryAfter() async throws {
        try await withClient { _, faults, client in
            try faults.add(FaultRule(times: 1, error: "ThrottlingException", retryAfterMs: 150))
            let result = try await converse(client)
            #expect(result.attempts.first?.waitBeforeNext == .milliseconds(150))
        }
    }

    @Test("reset is a ConnectionReset transport failure, retried")
    func reset() async throws {
        try await withClient { emulator, faults, client in
            try faults.add(FaultRule(times: 1, reset: true))
            let result = try await converse(client)
            #expect(result.attempts.map(\.errorCode) == ["ConnectionReset", nil])
            #expect(result.attempts.first?.outcome == .transportError)
            #expect(emulator.requests.count == 1)
        }
    }

    @Test("timeout is a FirstByteTimeout; when every attempt times out the caller gets it")
    func timeout() async throws {
        try await withClient { _, faults, client in
            try faults.add(ClientFaultRule(FaultRule(operation: "Converse"), timeout: true))
            let error = try #require(await caught { _ = try await converse(client) })
            #expect(error.code == "FirstByteTimeout")
            #expect(error.attempts.count == 3)
            #expect(error.retryReason.contains("all 3 attempts used"))
        }
    }

    @Test("stall is ended by the client's own time-to-first-byte deadline")
    func stall() async throws {
        // 3 s, not 1: the retry that follows the stall must get its first byte within it
        // while every other suite is starting (1 s ran out once in CI).
        let timeouts = Timeouts(connect: .seconds(5), firstByte: .seconds(3), idle: .seconds(5), total: .seconds(30))
        try await withClient(
            retry: RetryConfiguration(maxAttempts: 2, baseDelay: .milliseconds(5), maxBackoff: .milliseconds(50)),
            timeouts: timeouts
        ) { emulator, faults, client in
            try faults.add(FaultRule(times: 1, stall: true))
            let result = try await converse(client)
            #expect(result.attempts.map(\.errorCode) == ["FirstByteTimeout", nil])
            #expect(emulator.requests.count == 1)
        }
    }

    @Test("latency delays the attempt, which then succeeds")
    func latency() async throws {
        try await withClient { emulator, faults, client in
            try faults.add(FaultRule(times: 1, latencyMs: 120))
            let result = try await converse(client)
            #expect(result.attempts.count == 1)
            #expect(result.attempts[0].duration >= .milliseconds(120))
            #expect(emulator.requests.count == 1)
        }
    }

    @Test("model and region narrow a rule")
    func matching() async throws {
        try await withClient(region: "us-west-2") { _, faults, client in
            try faults.add(FaultRule(region: "eu-west-1", error: "ServiceUnavailableException"))
            try faults.add(FaultRule(model: "amazon.nova-lite-v1:0", error: "ServiceUnavailableException"))
            #expect(try await converse(client).attempts.count == 1)
            try faults.add(FaultRule(model: Self.model, region: "us-west-2", error: "AccessDeniedException"))
            let error = try #require(await caught { _ = try await converse(client) })
            #expect(error.code == "AccessDeniedException")
            #expect(faults.injections.last?.region == "us-west-2")
            #expect(faults.injections.last?.model == Self.model)
        }
    }

    @Test("probability with a seed hits the same attempts every run")
    func seededProbability() async throws {
        func pattern() async throws -> [Bool] {
            var hits: [Bool] = []
            try await withClient(retry: .noRetries) { _, faults, client in
                try faults.add(FaultRule(probability: 0.5, seed: 42, error: "InternalServerException"))
                for _ in 0..<12 {
                    // A hit is the injected error only: on a loaded machine an attempt the
                    // rule let through can fail on its own (a 10 s connect), and that is
                    // not the seed's pattern changing.
                    let error = await caught { _ = try await converse(client) }
                    hits.append(error?.code == "InternalServerException")
                }
            }
            return hits
        }
        let first = try await pattern()
        let second = try await pattern()
        #expect(first == second)
        #expect(first.contains(true) && first.contains(false))
    }

    @Test("seconds bounds a rule's life")
    func lifetime() async throws {
        try await withClient(retry: .noRetries) { _, faults, client in
            // A first call sets up the connection (slow while the whole suite starts on a
            // loaded machine), so the faulted call lands well inside the rule's life.
            _ = try await converse(client)
            try faults.add(FaultRule(seconds: 4, error: "ThrottlingException"))
            #expect(await caught { _ = try await converse(client) }?.code == "ThrottlingException")
            try await Task.sleep(for: .milliseconds(4100))
            #expect(try await converse(client).attempts.count == 1)
            #expect(faults.active.isEmpty)
        }
    }

    func streamText(_ client: BedrockRuntimeClient) async throws -> (String, ConverseEventStream) {
        let stream = try client.converseStream(
            ConverseRequest(modelId: Self.model, messages: [.user("Tell me a story about a quarry")]))
        let result = try await stream.collect()
        return (result.output.text, stream)
    }

    @Test("stream exception after 2 events: ModelStreamErrorException with the partial answer")
    func streamException() async throws {
        try await withClient { _, faults, client in
            let (clean, _) = try await streamText(client)
            try faults.add(FaultRule(operation: "ConverseStream", times: 1, stream: "exception", afterEvents: 2))
            let error = try #require(await caught { _ = try await streamText(client) })
            #expect(error.code == "ModelStreamErrorException")
            #expect(error.originalStatusCode == 500)
            #expect(error.attempts.count == 1, "failWithPartialResult does not retry after output")
            let partial = try #require(error.partialResult)
            #expect(!partial.text.isEmpty && clean.hasPrefix(partial.text) && partial.text != clean)
        }
    }

    @Test("stream exception with the restart policy: the call restarts and completes")
    func streamRestart() async throws {
        try await withClient(streamRetry: .restart) { emulator, faults, client in
            let (clean, _) = try await streamText(client)
            try faults.add(
                FaultRule(
                    operation: "ConverseStream", times: 1, stream: "exception", afterEvents: 3,
                    exception: "ThrottlingException"))
            let (text, stream) = try await streamText(client)
            #expect(text == clean)
            #expect(stream.restarts == 1)
            #expect(stream.attempts.first?.errorCode == "ThrottlingException")
            #expect(emulator.requests.count == 3)
        }
    }

    @Test("truncate, corrupt_crc and close each end the stream with their own error")
    func streamBreaks() async throws {
        try await withClient { _, faults, client in
            try faults.add(FaultRule(times: 1, stream: "truncate", afterEvents: 2))
            #expect(await caught { _ = try await streamText(client) }?.code == "IncompleteStream")

            try faults.add(FaultRule(times: 1, stream: "corrupt_crc", afterEvents: 1))
            let corrupt = await caught { _ = try await streamText(client) }
            #expect(corrupt?.code == "InvalidResponse")
            #expect(corrupt?.message.contains("checksum") == true || corrupt?.message.contains("CRC") == true)

            try faults.add(FaultRule(times: 1, stream: "close"))
            let closed = await caught { _ = try await streamText(client) }
            #expect(closed?.code == "IncompleteStream")
            #expect(closed?.message.contains("messageStop") == true)
            #expect(faults.injections.map(\.effect) == ["stream truncate", "stream corrupt_crc", "stream close"])
        }
    }

    @Test("drip slows the stream but keeps every event")
    func drip() async throws {
        try await withClient { _, faults, client in
            let (clean, _) = try await streamText(client)
            try faults.add(FaultRule(times: 1, stream: "drip", dripMs: 5))
            let (text, stream) = try await streamText(client)
            #expect(text == clean)
            #expect(stream.attempts.count == 1)
        }
    }

    @Test("stream rules never hit non-streaming calls")
    func streamRulesSkipConverse() async throws {
        try await withClient { _, faults, client in
            try faults.add(FaultRule(stream: "exception"))
            #expect(try await converse(client).attempts.count == 1)
            #expect(faults.injections.isEmpty)
        }
    }

    @Test("invalid rules are refused with a message naming the problem")
    func invalidRules() {
        let faults = ClientFaultInjector()
        let cases: [(ClientFaultRule, String)] = [
            (ClientFaultRule(), "needs one effect: error, latency_ms, stall, reset, timeout or stream"),
            (ClientFaultRule(FaultRule(error: "ThrottlingException", reset: true)), "exactly one effect"),
            (ClientFaultRule(FaultRule(error: "ThrottlingException"), timeout: true), "exactly one effect"),
            (ClientFaultRule(FaultRule(error: "SlowDownException")), "unknown error 'SlowDownException'"),
            (ClientFaultRule(FaultRule(operation: "Chat", error: "ThrottlingException")), "unknown operation 'Chat'"),
            (ClientFaultRule(FaultRule(probability: 1.5, reset: true)), "probability"),
            (ClientFaultRule(FaultRule(times: 0, reset: true)), "times"),
            (ClientFaultRule(FaultRule(seconds: 1e300, reset: true)), "seconds"),
            (ClientFaultRule(FaultRule(stream: "explode")), "unknown stream fault"),
            (ClientFaultRule(FaultRule(stream: "drip")), "drip_ms"),
            (ClientFaultRule(FaultRule(stream: "close", dripMs: 5)), "drip_ms only applies to stream = \"drip\""),
            (ClientFaultRule(FaultRule(operation: "Converse", stream: "close")), "streaming operations"),
            (ClientFaultRule(FaultRule(retryAfterMs: 10, reset: true)), "retry_after_ms"),
        ]
        for (rule, expected) in cases {
            #expect(throws: FaultRuleError.self) { try faults.add(rule) }
            do { try faults.add(rule) } catch { #expect(error.description.contains(expected), "\(error)") }
        }
        #expect(faults.active.isEmpty)
    }

    @Test("rules can be added and cleared while calls run on other tasks")
    func concurrentRules() async throws {
        try await withClient(retry: .noRetries) { _, faults, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        for _ in 0..<5 { _ = try? await converse(client, "call \(i)") }
                    }
                }
                group.addTask {
                    for _ in 0..<50 {
                        try faults.add(FaultRule(probability: 0.5, error: "ThrottlingException"))
                        faults.clear()
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
            faults.clear()
            #expect(try await converse(client).attempts.count == 1)
        }
    }

    @Test("rules decode from the emulator's JSON shape")
    func jsonShape() throws {
        let json =
            #"{"operation":"ConverseStream","stream":"exception","after_events":3,"exception":"throttlingException","times":1}"#
        let rule = try JSONDecoder().decode(ClientFaultRule.self, from: Data(json.utf8))
        #expect(rule.afterEvents == 3)
        #expect(
            rule.rule
                == FaultRule(
                    operation: "ConverseStream", times: 1, stream: "exception", afterEvents: 3,
                    exception: "throttlingException"))
        #expect(
            try rule.effect() == .fault(.stream(StreamFault(kind: .exception, afterEvents: 3, exception: .throttling))))
    }

    @Test("timeout sits beside the shared fields in one JSON object, both ways")
    func jsonTimeout() throws {
        let rule = try JSONDecoder().decode(
            ClientFaultRule.self, from: Data(#"{"operation":"Converse","timeout":true}"#.utf8))
        #expect(rule == ClientFaultRule(FaultRule(operation: "Converse"), timeout: true))
        #expect(try rule.effect() == .timeout)
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(rule)) as? [String: Any]
        #expect(encoded?["operation"] as? String == "Converse")
        #expect(encoded?["timeout"] as? Bool == true)
        #expect(try JSONDecoder().decode(ClientFaultRule.self, from: JSONEncoder().encode(rule)) == rule)
    }

    @Test("stream exception with an unmodelled code ends the stream with its error frame, as the emulator does")
    func streamUnmodelledError() async throws {
        try await withClient { _, faults, client in
            try faults.add(
                FaultRule(
                    operation: "ConverseStream", times: 1, stream: "exception", afterEvents: 2,
                    exception: "InternalFailure"))
            let error = try #require(await caught { _ = try await streamText(client) })
            #expect(error.code == "InternalFailure")
            #expect(faults.injections.map(\.effect) == ["stream exception"])
        }
    }
}
