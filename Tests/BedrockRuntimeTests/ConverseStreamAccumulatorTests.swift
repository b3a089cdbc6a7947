import BedrockWire
import Foundation
import Testing

@testable import BedrockRuntime

/// The API model's newer Converse shapes decode and fold: tool-result and image block
/// starts and deltas in streams, audio / searchResult / toolAddition / toolRemoval
/// blocks, systemTool tools and usage cacheDetails.
@Suite struct ConverseStreamAccumulatorTests {
    static func event(_ type: String, _ payload: String) throws -> ConverseStreamEvent {
        try ConverseStreamEvent.decode(eventType: type, payload: try JSONParser.parse(Array(payload.utf8)))
    }

    @Test("a service tool result and a generated image fold into toolResult and image blocks")
    func toolResultAndImageBlocks() throws {
        var acc = ConverseStreamAccumulator()
        let png = Data([0x89, 0x50, 0x4E, 0x47])
        for (type, payload) in [
            ("messageStart", #"{"role":"assistant"}"#),
            (
                "contentBlockStart",
                #"{"contentBlockIndex":0,"start":{"toolResult":{"toolUseId":"tu1","type":"nova_grounding","status":"success"}}}"#
            ),
            ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolResult":[{"text":"Lisbon: 21C"}]}}"#),
            ("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolResult":[{"json":{"temp":21}}]}}"#),
            ("contentBlockStop", #"{"contentBlockIndex":0}"#),
            ("contentBlockStart", #"{"contentBlockIndex":1,"start":{"image":{"format":"png"}}}"#),
            (
                "contentBlockDelta",
                #"{"contentBlockIndex":1,"delta":{"image":{"source":{"bytes":"\#(png.prefix(2).base64EncodedString())"}}}}"#
            ),
            (
                "contentBlockDelta",
                #"{"contentBlockIndex":1,"delta":{"image":{"source":{"bytes":"\#(png.suffix(2).base64EncodedString())"}}}}"#
            ),
            ("contentBlockStop", #"{"contentBlockIndex":1}"#),
            (
                "contentBlockDelta",
                #"{"contentBlockIndex":2,"delta":{"citation":{"title":"Granite","source":"https://example.com","location":{"searchResultLocation":{"searchResultIndex":0,"start":0,"end":1}}}}}"#
            ),
            ("messageStop", #"{"stopReason":"end_turn"}"#),
            (
                "metadata",
                #"{"usage":{"inputTokens":5,"outputTokens":7,"totalTokens":40,"cacheWriteInputTokens":28,"cacheDetails":[{"ttl":"1h","inputTokens":28}]},"metrics":{"latencyMs":3}}"#
            ),
        ] {
            acc.add(try Self.event(type, payload))
        }
        let result = acc.current
        #expect(result.content.count == 3)
        guard case .toolResult(let tool) = result.content[0] else {
            Issue.record("block 0 is \(result.content[0])"); return
        }
        #expect(tool.toolUseId == "tu1" && tool.status == "success")
        #expect(tool.content == [.text("Lisbon: 21C"), .json(["temp": 21])])
        #expect(result.content[1] == .image(ImageBlock(format: "png", source: .bytes(png))))
        guard case .citationsContent(let cited) = result.content[2] else {
            Issue.record("block 2 is \(result.content[2])"); return
        }
        #expect(cited.citations?.first?.title == "Granite")
        #expect(result.usage?.cacheDetails == [CacheDetail(ttl: "1h", inputTokens: 28)])
    }

    @Test("audio, searchResult, toolAddition/toolRemoval blocks and systemTool tools round-trip")
    func newBlocksRoundTrip() throws {
        let message =
            #"{"role":"system","content":[{"toolRemoval":{"tool":{"name":"get_weather"}}},{"toolAddition":{"tool":{"type":"mcp","name":"search","serverName":"docs"}}}]}"#
        let decoded = try JSONValueDecoder().decode(Message.self, from: try JSONParser.parse(Array(message.utf8)))
        #expect(decoded.role == .system)
        #expect(
            decoded.content == [
                .toolRemoval(ToolChangeBlock(tool: ToolReference(name: "get_weather"))),
                .toolAddition(ToolChangeBlock(tool: ToolReference(type: "mcp", name: "search", serverName: "docs"))),
            ])
        let blocks: [ContentBlock] = [
            .audio(AudioBlock(format: "mp3", source: .bytes(Data([1, 2, 3])))),
            .searchResult(
                SearchResultBlock(
                    source: "https://example.com", title: "Granite",
                    content: [SearchResultContentBlock(text: "An igneous rock.")],
                    citations: CitationsConfig(enabled: true))),
        ]
        for block in blocks {
            let json = try JSONValueEncoder().encode(block)
            #expect(try JSONValueDecoder().decode(ContentBlock.self, from: json) == block)
        }
        #expect(
            try JSONValueEncoder().encode(blocks[1])["searchResult"]?["content"]?.arrayValue?.first?["text"]
                == "An igneous rock.")
        let tool = try JSONValueDecoder().decode(Tool.self, from: ["systemTool": ["name": "nova_grounding"]])
        #expect(tool == .systemTool(SystemTool(name: "nova_grounding")))
        let point = try JSONValueEncoder().encode(CachePointBlock(ttl: "1h"))
        #expect(point["ttl"] == "1h")
        let start = try Self.event("contentBlockStart", #"{"contentBlockIndex":0,"start":{"image":{"format":"jpeg"}}}"#)
        #expect(start == .contentBlockStart(index: 0, start: .image(format: "jpeg")))
    }

    @Test("a cacheDetails count out of range is refused")
    func cacheDetailsBounds() throws {
        let usage =
            #"{"inputTokens":1,"outputTokens":1,"totalTokens":2,"cacheDetails":[{"ttl":"5m","inputTokens":-4}]}"#
        #expect(throws: DecodingError.self) {
            _ = try JSONValueDecoder().decode(TokenUsage.self, from: try JSONParser.parse(Array(usage.utf8)))
        }
    }
}
