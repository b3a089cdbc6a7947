import BedrockWire
import Foundation
import Testing

@testable import BedrockEmulator

/// The config file's `models` list: models of the user's own in the catalogue.
@Suite struct DeclaredModelTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emulator-models-\(UUID().uuidString).json"
        ).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let widget = """
        {"models": [{"id": "acme.widget-v1:0", "family": "anthropic", "name": "Widget", "provider": "Acme",
                     "max_output_tokens": 2048, "default_max_tokens": 512, "tool_use": false, "reasoning": true,
                     "input_modalities": ["image"]},
                    {"id": "acme.embed-v1:0", "family": "titan-embed", "embedding_dimensions": 256}]}
        """

    @Test("declared models join the built-in catalogue with their limits and modalities")
    func parses() throws {
        let path = try write(Self.widget)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let catalog = try EmulatorConfiguration(contentsOfFile: path).catalog
        #expect(catalog.models.count == ModelCatalog.standard.models.count + 2)
        let widget = try #require(catalog.resolve("us.acme.widget-v1:0"))
        #expect(widget.name == "Widget" && widget.provider == "Acme" && widget.family == .anthropicClaude)
        #expect(widget.maxOutputTokens == 2048 && widget.defaultMaxTokens == 512)
        #expect(!widget.supportsToolUse && widget.supportsReasoning && widget.supportsSystemPrompt)
        #expect(widget.accepts("image") && !widget.accepts("document"))
        let embed = try #require(catalog.resolve("acme.embed-v1:0"))
        #expect(embed.embeddingDimensions == 256 && !embed.family.generatesText)
        #expect(catalog.resolve(claude) != nil)
    }

    @Test(
        "a bad models entry names the entry and the problem",
        arguments: [
            (
                #"{"models": [{"id": "a.b", "family": "anthropic", "max_tokens": 5}]}"#,
                "models[1] has an unknown field 'max_tokens'"
            ),
            (#"{"models": [{"family": "anthropic"}]}"#, "not valid"),
            (#"{"models": [{"id": "a.b", "family": "gpt"}]}"#, "models[1]: family 'gpt' is unknown"),
            (#"{"models": [{"id": "a b", "family": "anthropic"}]}"#, "models[1]: id must be"),
            (
                #"{"models": [{"id": "a.b", "family": "anthropic", "max_output_tokens": 0}]}"#,
                "models[1]: max_output_tokens must be"
            ),
            (
                #"{"models": [{"id": "a.b", "family": "anthropic", "max_output_tokens": 9223372036854775807}]}"#,
                "max_output_tokens must be"
            ),
            (
                #"{"models": [{"id": "a.b", "family": "anthropic", "max_output_tokens": 100, "default_max_tokens": 200}]}"#,
                "default_max_tokens must be"
            ),
            (
                #"{"models": [{"id": "a.b", "family": "anthropic", "input_modalities": ["smell"]}]}"#,
                "input_modalities has 'smell'"
            ),
            (
                #"{"models": [{"id": "a.b", "family": "anthropic", "embedding_dimensions": 8}]}"#,
                "embedding_dimensions is only for"
            ),
            (
                #"{"models": [{"id": "anthropic.claude-3-haiku-20240307-v1:0", "family": "anthropic"}]}"#,
                "is already in the catalogue"
            ),
            (
                #"{"models": [{"id": "a.b", "family": "nova"}, {"id": "a.b", "family": "nova"}]}"#,
                "models[2]: id 'a.b' is already"
            ),
        ])
    func refuses(text: String, message: String) throws {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try EmulatorConfiguration(contentsOfFile: path)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("Converse to a declared model answers; an undeclared one is refused")
    func serves() async throws {
        let path = try write(Self.widget)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let catalog = try EmulatorConfiguration(contentsOfFile: path).catalog
        try await withEmulator({ $0.catalog = catalog }) { _, client in
            let reply = try await client.send("/model/acme.widget-v1:0/converse", json: converseBody("Hello widget"))
            #expect(reply.status == 200)
            #expect(reply.json?["stopReason"] == "end_turn")
            #expect(
                reply.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains(
                    "Hello widget") == true)
            let tooLong = try await client.send(
                "/model/acme.widget-v1:0/converse",
                json: converseBody("hi", extra: ["inferenceConfig": ["maxTokens": 4096]]))
            #expect(tooLong.status == 400)
            let undeclared = try await client.send(
                "/model/acme.gadget-v1:0/converse", json: converseBody("Hello gadget"))
            #expect(undeclared.status == 400)
            #expect(undeclared.errorType == "ValidationException")
        }
    }
}
