import BedrockWire
import Foundation
import Testing
@testable import BedrockEmulator

/// Answers read as prose shaped by the request, and `auto` tool choice follows meaning.
@Suite("Prose answers and tool choice from meaning")
struct ModelProseTests {
    let model = ModelCatalog.standard.resolve(claude)!

    func request(_ text: String, _ configure: (inout GenerationRequest) -> Void = { _ in }) -> GenerationRequest {
        var request = GenerationRequest(model: model, maxTokens: 400)
        request.messages = [ConversationMessage(role: .user, blocks: [.text(text)])]
        configure(&request)
        return request
    }

    static let weather = ToolDefinition(name: "get_weather", description: "Current weather for a city",
                                        schema: ["type": "object", "required": ["city"], "properties": ["city": ["type": "string"]]])
    static let flights = ToolDefinition(name: "search_flights", description: "Find flights between two airports",
                                        schema: ["type": "object", "properties": ["from": ["type": "string"]]])
    static let clock = ToolDefinition(name: "getTime", description: "The current time in a time zone", schema: ["type": "object"])

    @Test("the answer quotes the turn, follows the system prompt, recalls history and talks about the turn's words")
    func shapedByTheRequest() {
        let turn = ResponseGenerator().generate(request("What is the weather in Lisbon?") {
            $0.system = ["You are a terse travel assistant."]
            $0.messages.insert(contentsOf: [ConversationMessage(role: .user, blocks: [.text("My name is Ada.")]),
                                            ConversationMessage(role: .assistant, blocks: [.text("Hello Ada.")])], at: 0)
        })
        #expect(turn.stopReason == .endTurn)
        #expect(turn.text.hasPrefix("You said: \"What is the weather in Lisbon?\"."))
        #expect(turn.text.contains("\"You are a terse travel assistant.\""))
        #expect(turn.text.contains("\"My name is Ada.\""))
        #expect(turn.text.contains("weather") || turn.text.contains("Lisbon"))
        #expect(turn.text.hasSuffix("."))
        #expect(!turn.text.contains("{}"))
    }

    @Test("a longer request gets a longer answer; the same request the same answer")
    func lengthAndDeterminism() {
        let short = ResponseGenerator().generate(request("Granite?"))
        let long = ResponseGenerator().generate(request(
            "Explain the history of granite quarrying in Portugal, the tools the workers used over several centuries, "
                + "how the stone was moved to the coast, and what the trade meant for the towns along the river."))
        #expect(long.outputTokens > short.outputTokens)
        #expect(ResponseGenerator().generate(request("Granite?")).blocks == short.blocks)
    }

    @Test("maxTokens is honoured exactly on prose answers", arguments: [1, 7, 19, 40])
    func maxTokens(limit: Int) {
        let turn = ResponseGenerator().generate(request("Tell me about basalt columns and how they form") { $0.maxTokens = limit })
        #expect(turn.stopReason == .maxTokens)
        #expect(turn.outputTokens == limit)
        #expect(TokenCounter.count(turn.text) == limit)
    }

    @Test("auto: the tool sharing words with the turn is called, the best of several")
    func autoChoosesByMeaning() {
        let turn = ResponseGenerator().generate(request("What is the weather in Lisbon?") {
            $0.tools = [Self.flights, Self.clock, Self.weather]
        })
        #expect(turn.stopReason == .toolUse)
        guard case .toolUse(_, let name, let input) = turn.blocks.last else { Issue.record("\(turn.blocks)"); return }
        #expect(name == "get_weather")
        #expect(input == ["city": "Lisbon"])
        let flight = ResponseGenerator().generate(request("Find me flights from Porto to Oslo") {
            $0.tools = [Self.weather, Self.flights]
        })
        guard case .toolUse(_, let flightTool, _) = flight.blocks.last else { Issue.record("\(flight.blocks)"); return }
        #expect(flightTool == "search_flights")
        let time = ResponseGenerator().generate(request("What time is it in Tokyo?") { $0.tools = [Self.weather, Self.clock] })
        guard case .toolUse(_, let timeTool, _) = time.blocks.last else { Issue.record("\(time.blocks)"); return }
        #expect(timeTool == "getTime")
    }

    @Test("auto: no shared word, no call — unless the turn asks to use a tool")
    func autoWithoutOverlap() {
        let plain = ResponseGenerator().generate(request("Tell me a story about dragons") { $0.tools = [Self.weather, Self.flights] })
        #expect(plain.stopReason == .endTurn)
        let asked = ResponseGenerator().generate(request("Please use a tool for this") { $0.tools = [Self.flights, Self.weather] })
        guard case .toolUse(_, let name, _) = asked.blocks.last else { Issue.record("\(asked.blocks)"); return }
        #expect(name == "search_flights")
        let none = ResponseGenerator().generate(request("What is the weather in Lisbon?") {
            $0.tools = [Self.weather]
            $0.toolSelection = .none
        })
        #expect(none.stopReason == .endTurn)
    }

    @Test("answers carry x-quarry-emulated: true")
    func emulatedHeader() async throws {
        try await withEmulator { _, client in
            let reply = try await client.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(reply.headers["x-quarry-emulated"] == "true")
        }
    }
}

@Suite("Structured output")
struct StructuredOutputTests {
    let reader = ConverseRequestReader(model: ModelCatalog.standard.resolve(claude)!)

    func body(_ text: String, schema: String) -> JSONValue {
        converseBody(text, extra: ["outputConfig": ["textFormat": ["type": "JSON_SCHEMA",
                                                                   "structure": ["jsonSchema": ["schema": .string(schema), "name": "answer"]]]]])
    }

    @Test("outputConfig.textFormat makes the text JSON valid against the schema")
    func jsonAnswer() throws {
        let schema = #"{"type":"object","required":["city","temperature","tags"],"properties":{"city":{"type":"string"},"temperature":{"type":"number","minimum":-50},"tags":{"type":"array","items":{"type":"string","enum":["sunny","rainy"]}}}}"#
        let turn = ResponseGenerator().generate(try reader.read(body("What is the weather in Lisbon?", schema: schema)))
        #expect(turn.stopReason == .endTurn)
        let json = try #require(try? JSONParser.parse(Array(turn.text.utf8)))
        #expect(json == ["city": "Lisbon", "temperature": -50, "tags": ["sunny"]])
    }

    @Test("a bad outputConfig is a ValidationException naming the field", arguments: [
        ("{\"type\":\"object\"", "not a valid JSON object"),
        ("[1]", "not a valid JSON object"),
    ])
    func invalid(schema: String, message: String) {
        do {
            _ = try reader.read(body("hi", schema: schema))
            Issue.record("accepted \(schema)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}

@Suite("Guardrails on Converse")
struct ConverseGuardrailTests {
    let reader = ConverseRequestReader(model: ModelCatalog.standard.resolve(claude)!)

    func turn(_ text: String, trace: String = "enabled") throws -> GeneratedTurn {
        ResponseGenerator().generate(try reader.read(converseBody(text, extra: [
            "guardrailConfig": ["guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": .string(trace)]])))
    }

    @Test("a blocked word in the input intervenes, with the word-policy assessment in trace")
    func inputIntervenes() throws {
        let blocked = try turn("Tell me the classified plans")
        #expect(blocked.stopReason == .guardrailIntervened)
        #expect(blocked.text == GuardrailEvaluator.blockedMessage)
        #expect(blocked.trace?["guardrail"]?["inputAssessment"]?["gr-1"]?["wordPolicy"]?["customWords"]?.arrayValue?.first?["match"]
                == "classified")
        let response = ConverseShapes.response(blocked, latencyMs: 1)
        #expect(response["stopReason"] == "guardrail_intervened")
        #expect(response["trace"] != nil)
        let events = ConverseShapes.streamEvents(blocked, latencyMs: 1)
        #expect(events.first { $0.type == "messageStop" }?.payload["stopReason"] == "guardrail_intervened")
        #expect(events.last?.payload["trace"]?["guardrail"] != nil)
    }

    @Test("a clean turn passes unchanged; without trace there is none")
    func passes() throws {
        let clean = try turn("Tell me about granite", trace: "disabled")
        #expect(clean.stopReason == .endTurn)
        #expect(clean.trace == nil)
        #expect(clean.text.hasPrefix("You said: \"Tell me about granite\"."))
    }

    @Test("guardrailConfig is validated like the service")
    func validation() {
        do {
            _ = try reader.read(converseBody("hi", extra: ["guardrailConfig": ["guardrailIdentifier": "gr-1", "guardrailVersion": "v1"]]))
            Issue.record("accepted version v1")
        } catch {
            #expect(error.message.contains("guardrailConfig.guardrailVersion"))
        }
    }
}

@Suite("Prompt caching")
struct PromptCachingTests {
    func body(_ system: String, _ text: String) -> JSONValue {
        converseBody(text, extra: ["system": [["text": .string(system)], ["cachePoint": ["type": "default"]]]])
    }

    @Test("a cache point writes its prefix first, then reads it; usage adds up")
    func writeThenRead() async throws {
        try await withEmulator { _, client in
            let system = "You are a careful geologist who answers in two sentences about rocks and minerals."
            let first = try await client.send("/model/\(claude)/converse", json: body(system, "What is granite?"))
            let usage1 = try #require(first.json?["usage"])
            let written = try #require(usage1["cacheWriteInputTokens"]?.intValue)
            #expect(written == TokenCounter.count(system))
            #expect(usage1["cacheReadInputTokens"]?.intValue == 0)
            let second = try await client.send("/model/\(claude)/converse", json: body(system, "What is basalt?"))
            let usage2 = try #require(second.json?["usage"])
            #expect(usage2["cacheReadInputTokens"]?.intValue == written)
            #expect(usage2["cacheWriteInputTokens"]?.intValue == 0)
            let total = (usage2["inputTokens"]?.intValue ?? 0) + (usage2["outputTokens"]?.intValue ?? 0) + written
            #expect(usage2["totalTokens"]?.intValue == total)
            // CountTokens still counts the whole input.
            let counted = try await client.send("/model/\(claude)/count-tokens", json: ["input": ["converse": body(system, "What is basalt?")]])
            #expect(counted.json?["inputTokens"]?.intValue == (usage2["inputTokens"]?.intValue ?? 0) + written)
            // Another prefix is a new write; no cache point, no cache fields.
            let other = try await client.send("/model/\(claude)/converse", json: body("Answer like a poet.", "What is basalt?"))
            #expect((other.json?["usage"]?["cacheWriteInputTokens"]?.intValue ?? 0) > 0)
            let plain = try await client.send("/model/\(claude)/converse", json: converseBody("What is basalt?"))
            #expect(plain.json?["usage"]?["cacheReadInputTokens"] == nil)
        }
    }

    @Test("entries expire after five minutes and the table stays bounded")
    func lifetime() {
        let cache = PromptCache(capacity: 2)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(!cache.readOrWrite(1, now: start))
        #expect(cache.readOrWrite(1, now: start.addingTimeInterval(299)))
        #expect(!cache.readOrWrite(1, now: start.addingTimeInterval(299 + 301)))
        _ = cache.readOrWrite(2, now: start.addingTimeInterval(700))
        _ = cache.readOrWrite(3, now: start.addingTimeInterval(701))
        #expect(!cache.readOrWrite(1, now: start.addingTimeInterval(702)))
    }
}

@Suite("Input modalities")
struct ModalityTests {
    static let image: JSONValue = ["image": ["format": "png", "source": ["bytes": "iVBORw0KGgo="]]]

    func read(_ model: String, _ block: JSONValue) throws(ServiceError) -> GenerationRequest {
        try ConverseRequestReader(model: ModelCatalog.standard.resolve(model)!).read(
            ["messages": [["role": "user", "content": [["text": "Describe this"], block]]]])
    }

    @Test("an image to a text-only model is a ValidationException in the service's words")
    func refused() {
        for model in ["amazon.titan-text-express-v1", "amazon.nova-micro-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"] {
            do {
                _ = try read(model, Self.image)
                Issue.record("\(model) accepted an image")
            } catch {
                #expect(error.message == "This model doesn't support the image content block that you provided. "
                    + "Try again with a model that supports image content blocks.")
            }
        }
        #expect(throws: ServiceError.self) { _ = try read("amazon.nova-pro-v1:0", ["audio": ["format": "mp3", "source": ["bytes": "AA=="]]]) }
    }

    @Test("vision models take images, Nova Lite and Pro take video, chat models take documents")
    func accepted() throws {
        _ = try read(claude, Self.image)
        _ = try read("amazon.nova-lite-v1:0", ["video": ["format": "mp4", "source": ["bytes": "AA=="]]])
        _ = try read("meta.llama3-1-70b-instruct-v1:0", ["document": ["format": "txt", "name": "notes", "source": ["bytes": "aGk="]]])
    }
}

@Suite("Current catalogue")
struct CurrentCatalogueTests {
    @Test("Claude 4.x, Nova 2 and Premier, Llama 4, gpt-oss, DeepSeek and Qwen resolve, with profiles", arguments: [
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        "global.anthropic.claude-opus-4-5-20251101-v1:0", "us.amazon.nova-2-lite-v1:0", "us.amazon.nova-premier-v1:0",
        "us.meta.llama4-maverick-17b-instruct-v1:0", "openai.gpt-oss-120b-1:0", "us.deepseek.r1-v1:0",
        "qwen.qwen3-32b-v1:0", "cohere.embed-multilingual-v3",
    ])
    func resolves(id: String) {
        #expect(ModelCatalog.standard.resolve(id) != nil)
    }

    @Test("gpt-oss speaks chat completions on InvokeModel")
    func chatCompletions() throws {
        let model = try #require(ModelCatalog.standard.resolve("openai.gpt-oss-20b-1:0"))
        let format = try #require(NativeFormats.format(for: model.family))
        let request = try format.read(["messages": [["role": "system", "content": "Be brief."],
                                                    ["role": "user", "content": "Name a rock"]],
                                       "max_completion_tokens": 5], model: model)
        #expect(request.system == ["Be brief."] && request.maxTokens == 5)
        let turn = ResponseGenerator().generate(request)
        let body = format.response(turn, model: model, requestID: "r1")
        #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == "length")
        #expect(body["usage"]?["completion_tokens"]?.intValue == 5)
    }
}

@Suite("Nova Reel is served asynchronously only")
struct NovaReelTests {
    @Test("Converse and InvokeModel refuse it; StartAsyncInvoke takes it")
    func asyncOnly() async throws {
        try await withEmulator { _, client in
            let reel = "amazon.nova-reel-v1:1"
            let converse = try await client.send("/model/\(reel)/converse", json: converseBody("A drone shot of a quarry"))
            #expect(converse.status == 400 && converse.errorType == "ValidationException")
            let invoke = try await client.send("/model/\(reel)/invoke", json: ["taskType": "TEXT_VIDEO"])
            #expect(invoke.status == 400)
            #expect(invoke.json?["message"]?.stringValue?.contains("Use StartAsyncInvoke instead") == true)
            let started = try await client.send("/async-invoke", json: [
                "modelId": .string(reel), "modelInput": ["taskType": "TEXT_VIDEO", "textToVideoParams": ["text": "A quarry at dawn"]],
                "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": "s3://bucket/videos"]]])
            #expect(started.status == 200)
            #expect(started.json?["invocationArn"]?.stringValue?.hasPrefix("arn:aws:bedrock:us-east-1:") == true)
        }
    }
}
