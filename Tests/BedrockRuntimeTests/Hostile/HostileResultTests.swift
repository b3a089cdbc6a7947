import BedrockWire
import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// Issue 23 item 1, second audit: every part of a ConverseStream result counts against
/// the stream cap, and all calls of a client in flight share one byte budget.
@Suite struct HostileResultTests {
    let timeouts = Timeouts(connect: .seconds(5), firstByte: .seconds(20), idle: .seconds(10), total: .seconds(60))
    let streamRequest = ConverseRequest(modelId: "anthropic.claude-3-haiku-20240307-v1:0", messages: [.user("Hi")])

    /// A complete answer: `messageStart`, `frames`, `messageStop`.
    func answer(_ frames: [[UInt8]]) -> ServerAction {
        let all =
            [StreamFrames.event("messageStart", #"{"role":"assistant"}"#)] + frames
            + [StreamFrames.event("messageStop", #"{"stopReason":"end_turn"}"#)]
        // Sent in parts of a few hundred events, so the client reads as it would from a network.
        var parts: [(delay: TimeAmount, bytes: [UInt8])] = []
        var index = 0
        while index < all.count {
            let end = min(index + 200, all.count)
            // Appended frame by frame (a copy each), not joined byte by byte: with tens
            // of thousands of frames that took seconds of the shared pool in a debug build.
            var bytes: [UInt8] = []
            for frame in all[index..<end] { bytes.append(contentsOf: frame) }
            parts.append((.zero, bytes))
            index = end
        }
        return .stream(status: 200, headers: StreamFrames.headers, parts: parts, ending: .complete)
    }

    /// Whether `budget` is back to zero within a few seconds (a call's task lets go of
    /// its data just after its error reaches the caller).
    static func drained(_ budget: ResponseBudget) async -> Bool {
        for _ in 0..<100 where budget.inUse != 0 { try? await Task.sleep(for: .milliseconds(50)) }
        return budget.inUse == 0
    }

    func collectError(_ action: ServerAction, limits: ResponseLimits) async throws -> BedrockError? {
        let server = try await ScriptedHTTPServer.start { _, _ in action }
        defer { Task { await server.shutdown() } }
        let request = streamRequest
        return try await withClient(server, retry: .noRetries, timeouts: timeouts, limits: limits) { client in
            await bedrockError { _ = try await client.converseStream(request).collect() }
        }
    }

    @Test("tool-use starts with huge names count against the stream cap")
    func toolUseStartsCounted() async throws {
        let name = String(repeating: "n", count: 64 * 1024)
        let starts = (0..<40).map { i in
            StreamFrames.event(
                "contentBlockStart",
                #"{"contentBlockIndex":\#(i),"start":{"toolUse":{"toolUseId":"t\#(i)","name":"\#(name)"}}}"#)
        }
        // 40 names of 64 KiB: 2.5 MiB held, with no text at all.
        let error = try await collectError(answer(starts), limits: ResponseLimits(maxStreamBytes: 1 << 20))
        let e = try #require(error, "2.5 MiB of tool names passed a 1 MiB stream cap")
        #expect(e.kind == .responseTooLarge)
        #expect(e.message.contains("maxStreamBytes"))
    }

    @Test("an unknown start's value counts against the stream cap")
    func unknownStartsCounted() async throws {
        let blob = String(repeating: "b", count: 300 * 1024)
        let starts = (0..<8).map { i in
            StreamFrames.event(
                "contentBlockStart", #"{"contentBlockIndex":\#(i),"start":{"video":{"data":"\#(blob)"}}}"#)
        }
        let error = try await collectError(answer(starts), limits: ResponseLimits(maxStreamBytes: 1 << 20))
        let e = try #require(error, "2.4 MiB of unknown start values passed a 1 MiB stream cap")
        #expect(e.kind == .responseTooLarge)
        #expect(e.message.contains("maxStreamBytes"))
    }

    @Test("one-character deltas to distinct blocks pay each block's overhead")
    func blockOverheadCounted() async throws {
        let deltas = (0..<6_000).map { i in
            StreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":\#(i),"delta":{"text":"a"}}"#)
        }
        // 6,000 bytes of text, but 6,000 blocks: over 1 MiB with 256 bytes a block.
        let error = try await collectError(
            answer(deltas), limits: ResponseLimits(maxStreamBytes: 1 << 20, maxContentBlocks: 100_000))
        let e = try #require(error, "6,000 blocks were held as 6,000 bytes")
        #expect(e.kind == .responseTooLarge)
        #expect(e.message.contains("maxStreamBytes"))
    }

    @Test("more content blocks than maxContentBlocks end the stream with ResponseTooLarge naming it")
    func blockCountCapped() async throws {
        #expect(ResponseLimits.default.maxContentBlocks == 10_000)
        let deltas = (0..<10_050).map { i in
            StreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":\#(i),"delta":{"text":"a"}}"#)
        }
        let error = try await collectError(answer(deltas), limits: .default)
        let e = try #require(error, "10,050 content blocks were accepted")
        #expect(e.kind == .responseTooLarge)
        #expect(e.message.contains("10000 content blocks"))
        #expect(e.message.contains("maxContentBlocks"))
        let partial = try #require(e.partialResult)
        #expect(partial.content.count <= 10_001)
    }

    @Test("a legit answer of many small blocks and a long text is unaffected")
    func legitAnswerPasses() async throws {
        var frames = (0..<50).map { i in
            StreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":\#(i),"delta":{"text":"block \#(i) "}}"#)
        }
        frames += (0..<5_000).map { _ in
            StreamFrames.event("contentBlockDelta", #"{"contentBlockIndex":50,"delta":{"text":"word "}}"#)
        }
        let action = answer(frames)
        let server = try await ScriptedHTTPServer.start { _, _ in action }
        defer { Task { await server.shutdown() } }
        let request = streamRequest
        let result = try await withClient(
            server, retry: .noRetries, timeouts: timeouts, limits: ResponseLimits(maxStreamBytes: 1 << 20)
        ) { client in
            try await client.converseStream(request).collect()
        }
        #expect(result.output.content.count == 51)
        #expect(result.output.isComplete)
    }

    @Test("calls in flight share one byte budget: the call that would pass it fails, naming maxInFlightBytes")
    func inFlightBudgetShared() async throws {
        #expect(ResponseLimits.default.maxInFlightBytes == 256 << 20)
        // Each answer sends 2.5 MiB of a body and stalls: under the 3 MiB body cap, but
        // two of them pass the 4 MiB budget.
        let server = try await ScriptedHTTPServer.start { _, _ in
            .stream(
                status: 200, headers: [("Content-Type", "application/json")],
                parts: [(.zero, Array(repeating: UInt8(ascii: " "), count: 5 << 19))], ending: .stall)
        }
        defer { Task { await server.shutdown() } }
        // The idle timeout ends both stalled calls; it must outlast the second call's 2.5 MiB
        // arriving on a busy machine (3 s did not once in CI).
        let quickIdle = Timeouts(connect: .seconds(5), firstByte: .seconds(20), idle: .seconds(10), total: .seconds(40))
        let limits = ResponseLimits(maxBodyBytes: 3 << 20, maxInFlightBytes: 4 << 20)
        let (errors, held) = try await withClient(server, retry: .noRetries, timeouts: quickIdle, limits: limits) {
            client in
            async let first = bedrockError { _ = try await client.converse(helloRequest) }
            async let second = bedrockError { _ = try await client.converse(helloRequest) }
            let errors = await [first, second]
            return (errors, client.pipeline.budget)
        }
        let tooLarge = errors.filter { $0?.kind == .responseTooLarge }
        #expect(tooLarge.count == 1, "\(errors.map { $0?.description ?? "none" })")
        #expect(tooLarge.first??.message.contains("maxInFlightBytes") == true)
        #expect(tooLarge.first??.message.contains("4 MiB") == true)
        #expect(errors.contains { $0?.kind == .transport(.idleTimeout) })
        #expect(await Self.drained(held), "the calls' bytes were given back when they ended")
    }

    @Test("a stream's result and unread events draw on the shared budget")
    func streamsDrawOnBudget() async throws {
        let delta = StreamFrames.event(
            "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"abcdefghijklmnop"}}"#)
        let chunk =
            StreamFrames.event("messageStart", #"{"role":"assistant"}"#) + Array((0..<200).map { _ in delta }.joined())
        let server = try await ScriptedHTTPServer.start { _, _ in
            .endless(status: 200, headers: StreamFrames.headers, chunk: chunk, gap: .zero)
        }
        defer { Task { await server.shutdown() } }
        let limits = ResponseLimits(maxStreamBytes: 64 << 20, maxInFlightBytes: 2 << 20)
        let request = streamRequest
        let (error, budget) = try await withClient(server, retry: .noRetries, timeouts: timeouts, limits: limits) {
            client in
            (await bedrockError { _ = try await client.converseStream(request).collect() }, client.pipeline.budget)
        }
        let e = try #require(error)
        #expect(e.kind == .responseTooLarge)
        #expect(e.message.contains("maxInFlightBytes"), "\(e.message)")
        #expect(await Self.drained(budget), "the dropped stream gave its bytes back")
    }
}
