import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// Timeouts and cancellation: every wait ends.
@Suite struct TimeoutTests {
    let quick = Timeouts(connect: .seconds(2), firstByte: .seconds(2), idle: .milliseconds(400), total: .seconds(10))
    /// For tests about the body: a first-byte limit a loaded CI machine cannot trip.
    let bodyOnly = Timeouts(
        connect: .seconds(5), firstByte: .seconds(20), idle: .milliseconds(400), total: .seconds(30))

    @Test("a server that never answers trips the time-to-first-byte timeout, which is retried")
    func stalledHead() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in n == 0 ? .stall : .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        // The same 2 s first-byte limit, and room for the retry on a machine busy starting
        // every suite at once (a 10 s total ran out there once, after the timeout and backoff).
        var timeouts = quick
        timeouts.total = .seconds(30)
        let result = try await withClient(server, timeouts: timeouts) { try await $0.converse(helloRequest) }
        #expect(result.attempts.map(\.errorCode) == ["FirstByteTimeout", nil])
    }

    @Test("a body that stalls after the head trips the idle timeout")
    func stalledBody() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .stream(
                status: 200, headers: [("Content-Type", "application/json")],
                parts: [(.zero, Array(converseAnswer.utf8.prefix(20)))], ending: .stall)
        }
        defer { Task { await server.shutdown() } }
        // A generous first-byte limit: under a loaded CI machine the head may take over
        // a second, and this test is about the body's idle timer only.
        let error = try await withClient(server, retry: .noRetries, timeouts: bodyOnly) { client in
            await bedrockError { _ = try await client.converse(helloRequest) }
        }
        #expect(error?.kind == .transport(.idleTimeout))
        #expect(error?.message.contains("idle timeout") == true)
    }

    @Test("a slow body that keeps making progress is not cut by the idle timeout")
    func slowBodyCompletes() async throws {
        let bytes = Array(converseAnswer.utf8)
        let parts = stride(from: 0, to: bytes.count, by: 40).map {
            (TimeAmount.milliseconds(100), Array(bytes[$0..<min($0 + 40, bytes.count)]))
        }
        let server = try await ScriptedHTTPServer.start { _, _ in
            .stream(status: 200, headers: [("Content-Type", "application/json")], parts: parts, ending: .complete)
        }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server, timeouts: bodyOnly) { try await $0.converse(helloRequest) }
        #expect(parts.count > 5)
        #expect(result.text == "Hello there")
    }

    @Test("the total deadline ends the call even when each wait alone would not")
    func totalDeadline() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .stall }
        defer { Task { await server.shutdown() } }
        let options = CallOptions(firstByteTimeout: .seconds(30), totalTimeout: .milliseconds(400))
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converse(helloRequest, options: options) }
        }
        #expect(error?.kind == .transport(.totalTimeout))
        #expect(error?.isRetryable == false)
    }

    @Test("cancelling the calling task ends the call with Cancelled")
    func cancellation() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .stall }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            let task = Task { await bedrockError { _ = try await client.converse(helloRequest) } }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            return await task.value
        }
        #expect(error?.kind == .cancelled)
        #expect(error?.attempts.last?.outcome == .cancelled)
    }
}
