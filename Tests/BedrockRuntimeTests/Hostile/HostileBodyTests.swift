import BedrockWire
import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// A prelude (12 bytes, valid CRC) declaring a message of `total` bytes with no headers.
func hostilePrelude(total: UInt32) -> [UInt8] {
    var bytes: [UInt8] = []
    for value in [total, 0] { withUnsafeBytes(of: value.bigEndian) { bytes += $0 } }
    let crc = CRC32.checksum(bytes)
    withUnsafeBytes(of: crc.bigEndian) { bytes += $0 }
    return bytes
}

/// Hostile servers: every byte from the network is bounded.
@Suite struct HostileBodyTests {
    let timeouts = Timeouts(connect: .seconds(5), firstByte: .seconds(20), idle: .seconds(10), total: .seconds(30))
    let streamRequest = ConverseRequest(modelId: "anthropic.claude-3-haiku-20240307-v1:0", messages: [.user("Hi")])

    @Test("an endless 200 body stops at the body cap with ResponseTooLarge naming it")
    func endlessBody() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .endless(
                status: 200, headers: [("Content-Type", "application/json")],
                chunk: Array(repeating: UInt8(ascii: " "), count: 64 * 1024), gap: .zero)
        }
        defer { Task { await server.shutdown() } }
        let limits = ResponseLimits(maxBodyBytes: 2 << 20)
        let error = try await withClient(server, retry: .noRetries, timeouts: timeouts, limits: limits) { client in
            await bedrockError { _ = try await client.converse(helloRequest) }
        }
        let e = try #require(error)
        #expect(e.kind == .responseTooLarge)
        #expect(e.code == "ResponseTooLarge")
        #expect(e.message.contains("2 MiB"))
        #expect(e.message.contains("maxBodyBytes"))
        #expect(e.isRetryable == false)
    }

    @Test("a Content-Length over the cap fails before the body is read")
    func declaredTooLarge() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(
                status: 200, headers: [("Content-Type", "application/octet-stream")],
                body: Array(repeating: 0x41, count: 300_000))
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(
            server, retry: .noRetries, timeouts: timeouts, limits: ResponseLimits(maxBodyBytes: 256 * 1024)
        ) { client in
            await bedrockError {
                _ = try await client.invokeModel(InvokeModelRequest(modelId: "m", body: Data("{}".utf8)))
            }
        }
        #expect(error?.kind == .responseTooLarge)
        #expect(error?.message.contains("256 KiB") == true)
    }

    @Test("the default caps are 32 MiB for a body and 64 MiB for a stream")
    func defaults() {
        #expect(ResponseLimits.default.maxBodyBytes == 32 * 1024 * 1024)
        #expect(ResponseLimits.default.maxStreamBytes == 64 * 1024 * 1024)
    }

    @Test("an endless stream of tiny text deltas stops at the stream cap, with the partial result")
    func endlessDeltas() async throws {
        let delta = StreamFrames.event(
            "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"abcdefghijklmnop"},"p":"x"}"#)
        let chunk =
            StreamFrames.event("messageStart", #"{"role":"assistant"}"#) + Array((0..<200).map { _ in delta }.joined())
        let server = try await ScriptedHTTPServer.start { _, _ in
            .endless(status: 200, headers: StreamFrames.headers, chunk: chunk, gap: .zero)
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(
            server, retry: .noRetries, timeouts: timeouts, limits: ResponseLimits(maxStreamBytes: 1 << 20)
        ) { client in
            await bedrockError { _ = try await client.converseStream(streamRequest).collect() }
        }
        let e = try #require(error)
        #expect(e.kind == .responseTooLarge)
        #expect(e.message.contains("1 MiB"))
        #expect(e.message.contains("maxStreamBytes"))
        let partial = try #require(e.partialResult)
        #expect(partial.text.utf8.count <= (1 << 20) + 16)  // the cap, plus the one delta that passed it
        #expect(partial.text.utf8.count > 0)
    }

    @Test("events nobody reads are capped too (a stream the consumer ignores)")
    func unreadEventsCapped() async throws {
        let chunkEvent = StreamFrames.event(
            "chunk", #"{"bytes":"\#(Data(repeating: 0x61, count: 3000).base64EncodedString())"}"#)
        let server = try await ScriptedHTTPServer.start { _, _ in
            .endless(
                status: 200, headers: StreamFrames.headers, chunk: Array((0..<20).map { _ in chunkEvent }.joined()),
                gap: .zero)
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(
            server, retry: .noRetries, timeouts: timeouts, limits: ResponseLimits(maxStreamBytes: 1 << 20)
        ) { client in
            let stream = try client.invokeModelWithResponseStream(
                InvokeModelRequest(modelId: "m", body: Data("{}".utf8)))
            // Nobody reads for a while: the call must stop on its own, not buffer forever.
            var waited = 0
            while stream.attempts.isEmpty, waited < 200 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            return await bedrockError { for try await _ in stream {} }
        }
        #expect(error?.kind == .responseTooLarge)
        #expect(error?.message.contains("maxStreamBytes") == true)
    }

    @Test("a prelude declaring 16 MiB then dribbling bytes trips the idle timeout (per event, not per chunk)")
    func dribbledEventTripsIdle() async throws {
        let prelude = hostilePrelude(total: 16 * 1024 * 1024)
        let parts = [(TimeAmount.zero, prelude)] + (0..<400).map { _ in (TimeAmount.milliseconds(100), [UInt8(0x20)]) }
        let server = try await ScriptedHTTPServer.start { _, _ in
            .stream(status: 200, headers: StreamFrames.headers, parts: parts, ending: .stall)
        }
        defer { Task { await server.shutdown() } }
        let quickIdle = Timeouts(
            connect: .seconds(5), firstByte: .seconds(20), idle: .milliseconds(700), total: .seconds(30))
        let error = try await withClient(server, retry: .noRetries, timeouts: quickIdle, limits: .default) { client in
            await bedrockError { _ = try await client.converseStream(streamRequest).collect() }
        }
        #expect(error?.kind == .transport(.idleTimeout))
    }
}
