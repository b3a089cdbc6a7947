import BedrockWire
import Foundation
import Testing

@testable import BedrockEmulator

/// Structured output.
@Suite struct StructuredOutputTests {
    let reader = ConverseRequestReader(model: ModelCatalog.standard.resolve(claude)!)

    func body(_ text: String, schema: String) -> JSONValue {
        converseBody(
            text,
            extra: [
                "outputConfig": [
                    "textFormat": [
                        "type": "JSON_SCHEMA",
                        "structure": ["jsonSchema": ["schema": .string(schema), "name": "answer"]],
                    ]
                ]
            ])
    }

    @Test("outputConfig.textFormat makes the text JSON valid against the schema")
    func jsonAnswer() throws {
        let schema =
            #"{"type":"object","required":["city","temperature","tags"],"properties":{"city":{"type":"string"},"temperature":{"type":"number","minimum":-50},"tags":{"type":"array","items":{"type":"string","enum":["sunny","rainy"]}}}}"#
        let turn = ResponseGenerator().generate(try reader.read(body("What is the weather in Lisbon?", schema: schema)))
        #expect(turn.stopReason == .endTurn)
        let json = try #require(try? JSONParser.parse(Array(turn.text.utf8)))
        #expect(json == ["city": "Lisbon", "temperature": -50, "tags": ["sunny"]])
    }

    @Test(
        "a bad outputConfig is a ValidationException naming the field",
        arguments: [
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
