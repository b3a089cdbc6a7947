import BedrockRuntime
import BedrockWire
import Foundation
import HTTPTestSupport
import LuaSandbox
import NIOCore
import Testing

@testable import Quarry

/// Issue 23 item 1, second audit: a Lua stream's events wait in the pump bounded in
/// bytes, so the client's own cap on unread events still holds for scripts.
@Suite struct StreamPumpBoundTests {
    /// A pump reading an InvokeModelWithResponseStream from `server` through a client whose
    /// stream cap is `maxStreamBytes`.
    func startPump(_ server: ScriptedHTTPServer, maxStreamBytes: Int) throws -> (StreamPump, BedrockRuntimeClient) {
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint.parse(server.endpoint), authorizer: UnsignedAuthorizer(),
            retry: .noRetries,
            timeouts: Timeouts(connect: .seconds(5), firstByte: .seconds(20), idle: .seconds(20), total: .seconds(60)),
            limits: ResponseLimits(maxStreamBytes: maxStreamBytes))
        let client = try BedrockRuntimeClient(configuration: configuration)
        let pump = StreamPump()
        pump.start(
            open: {
                try client.invokeModelWithResponseStream(InvokeModelRequest(modelId: "m", body: Data("{}".utf8)))
            },
            write: { event, writer throws(LuaConversionError) in
                try writer.append(ResponseTables.chunkEvent(event))
            },
            finish: { _, error in
                (error == nil ? .map([:]) : nil, error.map(ScriptError.from))
            })
        return (pump, client)
    }

    /// Takes every batch until the end: the events seen, the largest hand-over's bytes, the failure.
    func drain(_ pump: StreamPump) async -> (events: Int, largestBatch: Int, failure: ScriptError?) {
        var events = 0
        var largest = 0
        while true {
            let batch = await pump.next()
            events += batch.count
            if case let .encodedList(list) = batch.events { largest = max(largest, list.byteCount) }
            if batch.finished { return (events, largest, batch.failure) }
        }
    }

    @Test("a script that does not read stops the pump, and the client's unread-bytes cap ends the call")
    func unreadStreamIsBounded() async throws {
        // Endless ~256 KiB chunk events; the script (here: nobody) never reads.
        let payload = Data(repeating: 0x61, count: 192 * 1024).base64EncodedString()
        let event = StreamFrames.event("chunk", #"{"bytes":"\#(payload)"}"#)
        let server = try await ScriptedHTTPServer.start { _, _ in
            .endless(status: 200, headers: StreamFrames.headers, chunk: event, gap: .zero)
        }
        defer { Task { await server.shutdown() } }
        let (pump, client) = try startPump(server, maxStreamBytes: 8 << 20)
        defer { Task { try? await client.shutdown() } }
        // The call must end on its own (the connection closed by the client's cap), with
        // the pump holding a few MiB; without the bound the pump takes everything.
        var waited = 0
        while server.closedConnections == 0, pump.queued.bytes < 64 << 20, waited < 400 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        let queued = pump.queued
        #expect(server.closedConnections == 1, "the client kept reading a stream nobody read")
        #expect(queued.bytes <= (4 << 20) + (1 << 20) + (512 << 10), "the pump held \(queued.bytes) bytes")
        let (events, largest, failure) = await drain(pump)
        #expect(events > 0)
        #expect(largest <= (1 << 20) + (512 << 10), "one hand-over to Lua was \(largest) bytes")
        #expect(failure?.code == "ResponseTooLarge")
        #expect(failure?.message.contains("maxStreamBytes") == true)
    }

    @Test("a long legit stream of many events crosses to Lua in hand-overs of at most about 1 MiB")
    func legitStreamBatchesBounded() async throws {
        // 3,000 chunk events of ~6 KiB: 18 MiB in all, read as it comes.
        let payload = Data(repeating: 0x62, count: 6 * 1024).base64EncodedString()
        let frame = StreamFrames.event("chunk", #"{"bytes":"\#(payload)"}"#)
        // One block of 100 frames, sent 30 times: built by appending (a copy), not by
        // joining byte by byte, which took seconds of the shared pool in a debug build.
        var block: [UInt8] = []
        block.reserveCapacity(frame.count * 100)
        for _ in 0..<100 { block.append(contentsOf: frame) }
        let parts = [(delay: TimeAmount, bytes: [UInt8])](repeating: (.zero, block), count: 30)
        let server = try await ScriptedHTTPServer.start { _, _ in
            .stream(status: 200, headers: StreamFrames.headers, parts: parts, ending: .complete)
        }
        defer { Task { await server.shutdown() } }
        let (pump, client) = try startPump(server, maxStreamBytes: 15 << 20)
        defer { Task { try? await client.shutdown() } }
        let (events, largest, failure) = await drain(pump)
        #expect(failure == nil, "\(failure?.message ?? "")")
        #expect(events == 3_000)
        #expect(largest <= (1 << 20) + (16 << 10), "one hand-over to Lua was \(largest) bytes")
    }
}
