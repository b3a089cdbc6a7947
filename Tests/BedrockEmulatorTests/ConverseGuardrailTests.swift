import Foundation
import Testing
@testable import BedrockEmulator

/// Guardrails on Converse.
@Suite struct ConverseGuardrailTests {
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
