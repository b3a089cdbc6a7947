import Foundation
import Testing

@testable import BedrockEmulator

/// Input modalities.
@Suite struct ModalityTests {
    static let image: JSONValue = ["image": ["format": "png", "source": ["bytes": "iVBORw0KGgo="]]]

    func read(_ model: String, _ block: JSONValue) throws(ServiceError) -> GenerationRequest {
        try ConverseRequestReader(model: ModelCatalog.standard.resolve(model)!).read(
            ["messages": [["role": "user", "content": [["text": "Describe this"], block]]]])
    }

    @Test("an image to a text-only model is a ValidationException in the service's words")
    func refused() {
        for model in [
            "amazon.titan-text-express-v1", "amazon.nova-micro-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
        ] {
            do {
                _ = try read(model, Self.image)
                Issue.record("\(model) accepted an image")
            } catch {
                #expect(
                    error.message == "This model doesn't support the image content block that you provided. "
                        + "Try again with a model that supports image content blocks.")
            }
        }
        #expect(throws: ServiceError.self) {
            _ = try read("amazon.nova-pro-v1:0", ["audio": ["format": "mp3", "source": ["bytes": "AA=="]]])
        }
    }

    @Test("vision models take images, Nova Lite and Pro take video, chat models take documents")
    func accepted() throws {
        _ = try read(claude, Self.image)
        _ = try read("amazon.nova-lite-v1:0", ["video": ["format": "mp4", "source": ["bytes": "AA=="]]])
        _ = try read(
            "meta.llama3-1-70b-instruct-v1:0",
            ["document": ["format": "txt", "name": "notes", "source": ["bytes": "aGk="]]])
    }
}
