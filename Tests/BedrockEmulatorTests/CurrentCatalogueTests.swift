import Foundation
import Testing

@testable import BedrockEmulator

/// Current catalogue.
@Suite struct CurrentCatalogueTests {
    @Test(
        "Claude 4.x, Nova 2 and Premier, Llama 4, gpt-oss, DeepSeek and Qwen resolve, with profiles",
        arguments: [
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
            "global.anthropic.claude-opus-4-5-20251101-v1:0", "us.amazon.nova-2-lite-v1:0",
            "us.amazon.nova-premier-v1:0",
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
        let request = try format.read(
            [
                "messages": [
                    ["role": "system", "content": "Be brief."],
                    ["role": "user", "content": "Name a rock"],
                ],
                "max_completion_tokens": 5,
            ], model: model)
        #expect(request.system == ["Be brief."] && request.maxTokens == 5)
        let turn = ResponseGenerator().generate(request)
        let body = format.response(turn, model: model, requestID: "r1")
        #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == "length")
        #expect(body["usage"]?["completion_tokens"]?.intValue == 5)
    }
}
