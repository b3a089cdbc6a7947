import BedrockWire
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

@Suite("More stream and retry paths")
struct MoreStreamTests {
    @Test("an unmodelled :message-type error frame is a service error with its code and message")
    func errorFrame() async throws {
        let errorFrame =
            (try? Array(
                EventStreamWriter().frame(EventStreamWriter.error(code: "InternalFailure", message: "boom"))
                    .readableBytesView)) ?? []
        let server = try await ScriptedHTTPServer.start { _, _ in
            StreamFrames.stream(Array(StreamFrames.conversation(["Hi"]).prefix(2)) + [errorFrame])
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converseStream(helloRequest).collect() }
        }
        #expect(error?.code == "InternalFailure")
        #expect(error?.message == "boom")
        #expect(error?.partialResult?.text == "Hi")
    }

    @Test("adaptive mode turns the rate limiter on after throttling")
    func adaptiveEnables() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0 ? .serviceError("ThrottlingException", status: 429, message: "slow") : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        var retry = fastRetry
        retry.mode = .adaptive
        let enabled = try await withClient(server, retry: retry) { client in
            #expect(!client.pipeline.rateLimiter.isEnabled)
            _ = try await client.converse(helloRequest)
            return client.pipeline.rateLimiter.isEnabled
        }
        #expect(enabled)
    }
}
