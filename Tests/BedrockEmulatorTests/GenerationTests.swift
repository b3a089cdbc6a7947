import Testing

@testable import BedrockEmulator

/// Deterministic generation.
@Suite struct GenerationTests {
    let model = ModelCatalog.standard.resolve(claude)!

    func request(_ text: String, _ configure: (inout GenerationRequest) -> Void = { _ in }) -> GenerationRequest {
        var request = GenerationRequest(model: model, maxTokens: 100)
        request.messages = [ConversationMessage(role: .user, blocks: [.text(text)])]
        configure(&request)
        return request
    }

    @Test("maxTokens cuts at exactly that many tokens")
    func maxTokens() {
        for limit in 1...6 {
            let turn = ResponseGenerator().generate(request("Tell me a story") { $0.maxTokens = limit })
            #expect(turn.stopReason == .maxTokens)
            #expect(turn.outputTokens == limit)
            #expect(TokenCounter.count(turn.text) == limit)
        }
    }

    @Test("stop sequences end the text before the sequence")
    func stopSequences() {
        let turn = ResponseGenerator().generate(request("one two three") { $0.stopSequences = ["two"] })
        #expect(turn.stopReason == .stopSequence)
        #expect(turn.stopSequence == "two")
        #expect(turn.text == "You said: \"one ")
    }

    @Test("same request, same answer; usage adds up")
    func determinism() {
        let a = ResponseGenerator().generate(request("Same input"))
        let b = ResponseGenerator().generate(request("Same input"))
        #expect(a.blocks == b.blocks)
        #expect(a.totalTokens == a.inputTokens + a.outputTokens)
        #expect(a.inputTokens == 2)
        let hotter = ResponseGenerator().generate(request("Same input") { $0.temperature = 0.9 })
        #expect(hotter.blocks != a.blocks)
    }

    @Test("forced tool use builds input that satisfies the schema")
    func toolInput() {
        let schema: JSONValue = [
            "type": "object", "required": ["city", "count", "tags", "flag", "nested"],
            "properties": [
                "city": ["type": "string"], "count": ["type": "integer", "minimum": 3],
                "tags": ["type": "array", "items": ["type": "string", "enum": ["x", "y"]]],
                "flag": ["type": "boolean"],
                "nested": ["type": "object", "properties": ["n": ["type": "number"]]],
            ],
        ]
        let turn = ResponseGenerator().generate(
            request("Book a table in Vienna") {
                $0.tools = [ToolDefinition(name: "book", description: nil, schema: schema)]
                $0.toolSelection = .any
            })
        #expect(turn.stopReason == .toolUse)
        guard case .toolUse(_, let name, let input) = turn.blocks.last else {
            Issue.record("no tool use in \(turn.blocks)")
            return
        }
        #expect(name == "book")
        #expect(input == ["city": "Vienna", "count": 3, "tags": ["x"], "flag": true, "nested": ["n": 1]])
    }

    @Test("auto tool choice calls a named tool and not for an unrelated turn")
    func autoChoice() {
        let tool = ToolDefinition(name: "get_time", description: nil, schema: ["type": "object"])
        let plain = ResponseGenerator().generate(request("Hello") { $0.tools = [tool] })
        #expect(plain.stopReason == .endTurn)
        let named = ResponseGenerator().generate(request("What does get time say?") { $0.tools = [tool] })
        #expect(named.stopReason == .toolUse)
    }
}
