import BedrockWire
import Foundation
import Testing

@testable import BedrockEmulator

/// Answers read as prose shaped by the request, and `auto` tool choice follows meaning.
@Suite struct ModelProseTests {
    let model = ModelCatalog.standard.resolve(claude)!

    func request(_ text: String, _ configure: (inout GenerationRequest) -> Void = { _ in }) -> GenerationRequest {
        var request = GenerationRequest(model: model, maxTokens: 400)
        request.messages = [ConversationMessage(role: .user, blocks: [.text(text)])]
        configure(&request)
        return request
    }

    static let weather = ToolDefinition(
        name: "get_weather", description: "Current weather for a city",
        schema: ["type": "object", "required": ["city"], "properties": ["city": ["type": "string"]]])
    static let flights = ToolDefinition(
        name: "search_flights", description: "Find flights between two airports",
        schema: ["type": "object", "properties": ["from": ["type": "string"]]])
    static let clock = ToolDefinition(
        name: "getTime", description: "The current time in a time zone", schema: ["type": "object"])

    @Test("the answer quotes the turn, follows the system prompt, recalls history and talks about the turn's words")
    func shapedByTheRequest() {
        let turn = ResponseGenerator().generate(
            request("What is the weather in Lisbon?") {
                $0.system = ["You are a terse travel assistant."]
                $0.messages.insert(
                    contentsOf: [
                        ConversationMessage(role: .user, blocks: [.text("My name is Ada.")]),
                        ConversationMessage(role: .assistant, blocks: [.text("Hello Ada.")]),
                    ], at: 0)
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
        let long = ResponseGenerator().generate(
            request(
                "Explain the history of granite quarrying in Portugal, the tools the workers used over several centuries, "
                    + "how the stone was moved to the coast, and what the trade meant for the towns along the river."))
        #expect(long.outputTokens > short.outputTokens)
        #expect(ResponseGenerator().generate(request("Granite?")).blocks == short.blocks)
    }

    @Test("maxTokens is honoured exactly on prose answers", arguments: [1, 7, 19, 40])
    func maxTokens(limit: Int) {
        let turn = ResponseGenerator().generate(
            request("Tell me about basalt columns and how they form") { $0.maxTokens = limit })
        #expect(turn.stopReason == .maxTokens)
        #expect(turn.outputTokens == limit)
        #expect(TokenCounter.count(turn.text) == limit)
    }

    @Test("auto: the tool sharing words with the turn is called, the best of several")
    func autoChoosesByMeaning() {
        let turn = ResponseGenerator().generate(
            request("What is the weather in Lisbon?") {
                $0.tools = [Self.flights, Self.clock, Self.weather]
            })
        #expect(turn.stopReason == .toolUse)
        guard case .toolUse(_, let name, let input) = turn.blocks.last else { Issue.record("\(turn.blocks)"); return }
        #expect(name == "get_weather")
        #expect(input == ["city": "Lisbon"])
        let flight = ResponseGenerator().generate(
            request("Find me flights from Porto to Oslo") {
                $0.tools = [Self.weather, Self.flights]
            })
        guard case .toolUse(_, let flightTool, _) = flight.blocks.last else { Issue.record("\(flight.blocks)"); return }
        #expect(flightTool == "search_flights")
        let time = ResponseGenerator().generate(
            request("What time is it in Tokyo?") { $0.tools = [Self.weather, Self.clock] })
        guard case .toolUse(_, let timeTool, _) = time.blocks.last else { Issue.record("\(time.blocks)"); return }
        #expect(timeTool == "getTime")
    }

    @Test("auto: no shared word, no call — unless the turn asks to use a tool")
    func autoWithoutOverlap() {
        let plain = ResponseGenerator().generate(
            request("Tell me a story about dragons") { $0.tools = [Self.weather, Self.flights] })
        #expect(plain.stopReason == .endTurn)
        let asked = ResponseGenerator().generate(
            request("Please use a tool for this") { $0.tools = [Self.flights, Self.weather] })
        guard case .toolUse(_, let name, _) = asked.blocks.last else { Issue.record("\(asked.blocks)"); return }
        #expect(name == "search_flights")
        let none = ResponseGenerator().generate(
            request("What is the weather in Lisbon?") {
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
