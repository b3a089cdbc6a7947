import Testing

@testable import BedrockEmulator

/// Tokenizer and model catalog.
@Suite struct CatalogTests {
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
