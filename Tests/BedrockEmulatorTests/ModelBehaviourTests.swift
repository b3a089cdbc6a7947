import BedrockWire
import Testing
@testable import BedrockEmulator

@Suite("Tokenizer and model catalog")
struct CatalogTests {
    @Test("token pieces concatenate back to the text and count words and punctuation")
    func tokenPieces() {
        let text = "Hello, world!  Internationalization  42 "
        let pieces = TokenCounter.pieces(text)
        #expect(pieces.joined() == text)
        #expect(pieces.map(String.init) == ["Hello", ",", " world", "!", "  Internat", "ionaliza", "tion", "  42 "])
        #expect(TokenCounter.count("") == 0)
        #expect(TokenCounter.count("   ") == 1)
    }

    @Test("model ids, cross-region profiles and ARNs resolve; others do not")
    func resolution() {
        let catalog = ModelCatalog.standard
        #expect(catalog.resolve(claude)?.family == .anthropicClaude)
        #expect(catalog.resolve("us.\(claude)")?.id == claude)
        #expect(catalog.resolve("global.\(claude)")?.id == claude)
        #expect(catalog.resolve("arn:aws:bedrock:us-east-1::foundation-model/\(claude)")?.id == claude)
        #expect(catalog.resolve("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.\(claude)")?.id == claude)
        #expect(catalog.resolve("arn:aws:s3:::bucket/\(claude)") == nil)
        #expect(catalog.resolve("xx.\(claude)") == nil)
        #expect(catalog.resolve("amazon.titan-embed-text-v2:0")?.family.generatesText == false)
    }
}

@Suite("Deterministic generation")
struct GenerationTests {
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
        let schema: JSONValue = ["type": "object", "required": ["city", "count", "tags", "flag", "nested"],
                                 "properties": ["city": ["type": "string"], "count": ["type": "integer", "minimum": 3],
                                                "tags": ["type": "array", "items": ["type": "string", "enum": ["x", "y"]]],
                                                "flag": ["type": "boolean"],
                                                "nested": ["type": "object", "properties": ["n": ["type": "number"]]]]]
        let turn = ResponseGenerator().generate(request("Book a table in Vienna") {
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

@Suite("Fault rules")
struct FaultRuleTests {
    @Test("rules need exactly one valid effect", arguments: [
        (FaultRule(operation: "Converse"), "needs one effect"),
        (FaultRule(error: "ThrottlingException", stall: true), "exactly one effect"),
        (FaultRule(operation: "Conversation", error: "ThrottlingException"), "unknown operation"),
        (FaultRule(error: "Boom"), "unknown error"),
        (FaultRule(probability: 2, reset: true), "probability"),
        (FaultRule(times: 0, reset: true), "times"),
        (FaultRule(stream: "explode"), "unknown stream fault"),
        (FaultRule(stream: "drip"), "drip_ms"),
        (FaultRule(retryAfterMs: 5, reset: true), "retry_after_ms"),
        (FaultRule(stream: "truncate", exception: "throttlingException"), "exception only applies"),
    ])
    func invalid(rule: FaultRule, message: String) {
        #expect(throws: FaultRuleError.self) { try rule.effect() }
        do {
            _ = try rule.effect()
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("valid rules map to their effect")
    func valid() throws {
        #expect(try FaultRule(error: "throttlingException", retryAfterMs: 10).effect() == .error(.throttling, retryAfterMs: 10))
        #expect(try FaultRule(stream: "exception", afterEvents: 2, exception: "ModelTimeoutException").effect()
                == .stream(StreamFault(kind: .exception, afterEvents: 2, exception: .modelTimeout, dripMilliseconds: 0)))
    }

    @Test("times expires a rule; stream rules skip non-stream operations")
    func matching() throws {
        let book = FaultBook()
        _ = try book.add(FaultRule(times: 2, reset: true))
        _ = try book.add(FaultRule(stream: "close"))
        #expect(book.match(operation: .converse, model: nil, resolvedModel: nil, region: "us-east-1") == .reset)
        #expect(book.match(operation: .converse, model: nil, resolvedModel: nil, region: "us-east-1") == .reset)
        #expect(book.match(operation: .converse, model: nil, resolvedModel: nil, region: "us-east-1") == nil)
        #expect(book.match(operation: .converseStream, model: nil, resolvedModel: nil, region: "us-east-1") != nil)
        #expect(book.active.count == 1)
    }
}
