import Foundation
import Testing

@testable import BedrockEmulator

/// Guardrails on Converse.
@Suite struct ConverseGuardrailTests {
    let reader = ConverseRequestReader(model: ModelCatalog.standard.resolve(claude)!)

    func turn(_ text: String, trace: String = "enabled") throws -> GeneratedTurn {
        ResponseGenerator().generate(
            try reader.read(
                converseBody(
                    text,
                    extra: [
                        "guardrailConfig": [
                            "guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": .string(trace),
                        ]
                    ])))
    }

    @Test("a blocked word in the input intervenes, with the word-policy assessment in trace")
    func inputIntervenes() throws {
        let blocked = try turn("Tell me the classified plans")
        #expect(blocked.stopReason == .guardrailIntervened)
        #expect(blocked.text == GuardrailEvaluator.blockedMessage)
        #expect(
            blocked.trace?["guardrail"]?["inputAssessment"]?["gr-1"]?["wordPolicy"]?["customWords"]?.arrayValue?.first?[
                "match"]
                == "classified")
        let response = ConverseShapes.response(blocked, latencyMs: 1)
        #expect(response["stopReason"] == "guardrail_intervened")
        #expect(response["trace"] != nil)
        let events = ConverseShapes.streamEvents(blocked, latencyMs: 1)
        #expect(events.first { $0.type == "messageStop" }?.payload["stopReason"] == "guardrail_intervened")
        #expect(events.last?.payload["trace"]?["guardrail"] != nil)
    }

    @Test("a PII shape in the input (e-mail, card number) intervenes like ApplyGuardrail, in Converse and the stream")
    func piiIntervenes() throws {
        let blocked = try turn("Mail ada@example.com the total, card 4111 1111 1111 1111")
        #expect(blocked.stopReason == .guardrailIntervened)
        #expect(blocked.text == GuardrailEvaluator.blockedMessage)
        let assessment = blocked.trace?["guardrail"]?["inputAssessment"]?["gr-1"]
        let entities = assessment?["sensitiveInformationPolicy"]?["piiEntities"]?.arrayValue ?? []
        #expect(entities.map { $0["type"] } == ["EMAIL", "CREDIT_DEBIT_CARD_NUMBER"])
        #expect(entities.first?["match"] == "ada@example.com")
        #expect(entities.first?["action"] == "BLOCKED")
        #expect(assessment?["wordPolicy"] == nil)
        let events = ConverseShapes.streamEvents(blocked, latencyMs: 1)
        #expect(events.first { $0.type == "messageStop" }?.payload["stopReason"] == "guardrail_intervened")
        #expect(
            events.last?.payload["trace"]?["guardrail"]?["inputAssessment"]?["gr-1"]?["sensitiveInformationPolicy"]
                != nil)

        // ApplyGuardrail on the same text reports the same assessment (one policy).
        let applied = try GuardrailEvaluator().apply(
            identifier: "gr-1", version: "1",
            body: [
                "source": "INPUT",
                "content": [["text": ["text": "Mail ada@example.com the total, card 4111 1111 1111 1111"]]],
            ])
        #expect(applied["action"] == "GUARDRAIL_INTERVENED")
        #expect(applied["assessments"]?.arrayValue?.first == assessment)
    }

    @Test("a phone number is blocked; plain numbers are not")
    func phoneAndPlainNumbers() throws {
        let phone = try turn("Call me on +1 206 555 0100 tomorrow")
        #expect(phone.stopReason == .guardrailIntervened)
        #expect(
            phone.trace?["guardrail"]?["inputAssessment"]?["gr-1"]?["sensitiveInformationPolicy"]?["piiEntities"]?
                .arrayValue?.first?["type"] == "PHONE")
        let plain = try turn("Order 12 boxes of 300 nails")
        #expect(plain.stopReason == .endTurn)
    }

    @Test("config-file guardrail_words replace the trigger words for Converse, ConverseStream and ApplyGuardrail")
    func configuredWords() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("guardrail-\(UUID().uuidString).json")
            .path
        try #"{"guardrail_words": ["Project-Falcon"]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let words = try EmulatorConfiguration(contentsOfFile: path).guardrailWords
        #expect(words == ["Project-Falcon"])
        let guardrail: JSONValue = ["guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "enabled"]
        try await withEmulator({ $0.guardrailWords = words }) { _, client in
            let blocked = try await client.send(
                "/model/\(claude)/converse",
                json: converseBody("Status of project-falcon?", extra: ["guardrailConfig": guardrail]))
            #expect(blocked.json?["stopReason"] == "guardrail_intervened")
            #expect(
                blocked.json?["trace"]?["guardrail"]?["inputAssessment"]?["gr-1"]?["wordPolicy"]?["customWords"]?
                    .arrayValue?.first?["match"] == "project-falcon")
            let stream = try await client.send(
                "/model/\(claude)/converse-stream",
                json: converseBody("Status of project-falcon?", extra: ["guardrailConfig": guardrail]))
            #expect(String(decoding: stream.body, as: UTF8.self).contains("guardrail_intervened"))
            let old = try await client.send(
                "/model/\(claude)/converse",
                json: converseBody("the classified plans", extra: ["guardrailConfig": guardrail]))
            #expect(old.json?["stopReason"] == "end_turn")
            let applied = try await client.send(
                "/guardrail/gr-1/version/1/apply",
                json: ["source": "INPUT", "content": [["text": ["text": "PROJECT-FALCON"]]]])
            #expect(applied.json?["action"] == "GUARDRAIL_INTERVENED")
        }
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("guardrail-\(UUID().uuidString).json")
            .path
        try #"{"guardrail_words": [" "]}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: EmulatorConfigurationError.self) { try EmulatorConfiguration(contentsOfFile: bad) }
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
            _ = try reader.read(
                converseBody(
                    "hi", extra: ["guardrailConfig": ["guardrailIdentifier": "gr-1", "guardrailVersion": "v1"]]))
            Issue.record("accepted version v1")
        } catch {
            #expect(error.message.contains("guardrailConfig.guardrailVersion"))
        }
    }
}
