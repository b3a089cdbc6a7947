import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// Stream resilience: retries, partial results, restarts, idle timeouts, cancellation.
@Suite struct StreamResilienceTests {
    let request = ConverseRequest(modelId: "anthropic.claude-3-haiku-20240307-v1:0", messages: [.user("Write a poem")])

    @Test("an exception before the first event is retried like any call")
    func exceptionBeforeOutputRetried() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0
                ? StreamFrames.stream([StreamFrames.exception(.throttling, "slow down")])
                : StreamFrames.stream(StreamFrames.conversation(["Roses", " are", " red"]))
        }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server) { try await $0.converseStream(request).collect() }
        #expect(result.text == "Roses are red")
        #expect(result.stopReason == .endTurn)
        #expect(result.usage?.totalTokens == 6)
        #expect(result.attempts.map(\.errorCode) == ["ThrottlingException", nil])
        #expect(result.restarts == 0)
    }

    @Test("an HTTP error before the stream is retried like any call")
    func httpErrorBeforeStream() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0
                ? .serviceError("ServiceUnavailableException", status: 503, message: "busy")
                : StreamFrames.stream(StreamFrames.conversation(["ok"]))
        }
        defer { Task { await server.shutdown() } }
        let stream = try await withClient(server) { client in
            let s = try client.converseStream(request)
            _ = try await s.collect()
            return s
        }
        #expect(stream.attempts.map(\.httpStatus) == [503, 200])
        #expect(stream.requestId == "stream-req")
    }

    @Test("a mid-stream exception fails with the partial result attached (default policy)")
    func midStreamFailsWithPartial() async throws {
        let frames =
            Array(StreamFrames.conversation(["Roses", " are"]).prefix(3)) + [
                StreamFrames.exception(.throttling, "Too many tokens")
            ]
        let server = try await ScriptedHTTPServer.start { _, _ in StreamFrames.stream(frames) }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converseStream(request).collect() }
        }
        let e = try #require(error)
        #expect(e.serviceCode == .throttling)
        #expect(e.message == "Too many tokens")
        #expect(e.isRetryable == false)
        #expect(e.retryReason.contains("failWithPartialResult"))
        #expect(e.partialResult?.text == "Roses are")
        #expect(e.partialResult?.isComplete == false)
        #expect(e.attempts.count == 1)
        #expect(server.requests.count == 1)
    }

    @Test("the restart policy runs the call again, says so, and the result is the new answer")
    func restartPolicy() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0
                ? StreamFrames.stream(
                    Array(StreamFrames.conversation(["Roses"]).prefix(2)) + [
                        StreamFrames.exception(.internalServer, "oops")
                    ])
                : StreamFrames.stream(StreamFrames.conversation(["Violets", " are", " blue"]))
        }
        defer { Task { await server.shutdown() } }
        let (events, result) = try await withClient(server, streamRetry: .restart) { client in
            let stream = try client.converseStream(request)
            var events: [ConverseStreamEvent] = []
            var acc = ConverseStreamAccumulator()
            for try await e in stream { events.append(e); acc.add(e) }
            return (events, BedrockResult(output: acc.current, attempts: stream.attempts, requestId: stream.requestId))
        }
        let restartIndex = try #require(events.firstIndex { if case .restarted = $0 { true } else { false } })
        #expect(restartIndex == 2)
        if case let .restarted(attempt, reason) = events[restartIndex] {
            #expect(attempt == 2)
            #expect(reason.contains("InternalServerException"))
        }
        #expect(result.text == "Violets are blue")
        #expect(result.restarts == 1)
        #expect(result.attempts.map(\.errorCode) == ["InternalServerException", nil])
    }

    @Test("a stream that stalls between events trips the idle timeout, with the partial result")
    func idleTimeoutMidStream() async throws {
        let frames = Array(StreamFrames.conversation(["Roses", " are"]).prefix(2))
        let server = try await ScriptedHTTPServer.start { _, _ in StreamFrames.stream(frames, ending: .stall) }
        defer { Task { await server.shutdown() } }
        let options = CallOptions(idleTimeout: .milliseconds(300))
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converseStream(request, options: options).collect() }
        }
        #expect(error?.kind == .transport(.idleTimeout))
        #expect(error?.partialResult?.text == "Roses")
        #expect(error?.isRetryable == false)
    }

    @Test("a stream that ends cleanly without messageStop is IncompleteStream, not success")
    func incompleteStream() async throws {
        let frames = Array(StreamFrames.conversation(["Roses", " are"]).prefix(3))
        let server = try await ScriptedHTTPServer.start { _, _ in StreamFrames.stream(frames) }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converseStream(request).collect() }
        }
        #expect(error?.kind == .incompleteStream)
        #expect(error?.code == "IncompleteStream")
        #expect(error?.message.contains("messageStop") == true)
        #expect(error?.partialResult?.text == "Roses are")
    }

    @Test("a connection reset mid-stream is reported with the partial result")
    func resetMidStream() async throws {
        let frames = Array(StreamFrames.conversation(["Roses"]).prefix(2))
        let server = try await ScriptedHTTPServer.start { _, _ in StreamFrames.stream(frames, ending: .reset) }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converseStream(request).collect() }
        }
        #expect(error?.kind == .transport(.connectionReset) || error?.kind == .incompleteStream)
        #expect(error?.partialResult?.text == "Roses")
    }

    @Test("stopping iteration closes the connection promptly")
    func cancellationClosesConnection() async throws {
        let frames =
            [StreamFrames.event("messageStart", #"{"role":"assistant"}"#)]
            + Array(
                repeating: StreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"la "}}"#),
                count: 400)
        let server = try await ScriptedHTTPServer.start { _, _ in StreamFrames.stream(frames, gap: .milliseconds(50)) }
        defer { Task { await server.shutdown() } }
        try await withClient(server) { client in
            var seen = 0
            for try await _ in try client.converseStream(request) {
                seen += 1
                if seen == 3 { break }
            }
            #expect(seen == 3)
            // 400 events at 50 ms would take 20 s; the connection must close long before.
            let deadline = ContinuousClock.now + .seconds(10)
            while server.closedConnections == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(server.closedConnections == 1)
        }
    }

    @Test("tool-use input arriving in pieces is parsed into JSON by the accumulator")
    func toolUseAccumulation() async throws {
        let frames = [
            StreamFrames.event("messageStart", #"{"role":"assistant"}"#),
            StreamFrames.event(
                "contentBlockStart",
                #"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"get_weather"}}}"#),
            StreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"ci"}}}"#),
            StreamFrames.event(
                "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"ty\":\"Paris\"}"}}}"#),
            StreamFrames.event("contentBlockStop", #"{"contentBlockIndex":0}"#),
            StreamFrames.event("messageStop", #"{"stopReason":"tool_use"}"#),
        ]
        let server = try await ScriptedHTTPServer.start { _, _ in StreamFrames.stream(frames) }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server) { try await $0.converseStream(request).collect() }
        #expect(result.toolUses == [ToolUseBlock(toolUseId: "t1", name: "get_weather", input: ["city": "Paris"])])
        #expect(result.stopReason == .toolUse)
        #expect(result.output.response?.stopReason == .toolUse)
    }
}
