import BedrockWire
import Foundation

// MARK: - Meta Llama

struct LlamaFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        var request = NativeFormats.prompt(try NativeFormats.requiredString(body, "prompt"), model: model)
        request.maxTokens = try NativeFormats.maxTokens(
            body["max_gen_len"], field: "max_gen_len", model: model, required: false)
        request.temperature = try NativeFormats.temperature(body["temperature"])
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "length" : "stop" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        [
            "generation": .string(turn.text), "prompt_token_count": .int(turn.inputTokens),
            "generation_token_count": .int(turn.outputTokens), "stop_reason": .string(reason(turn)),
        ]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        return pieces.enumerated().map { index, piece in
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = [
                "generation": .string(piece), "prompt_token_count": index == 0 ? .int(turn.inputTokens) : .null,
                "generation_token_count": .int(index + 1), "stop_reason": last ? .string(reason(turn)) : .null,
            ]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            return JSONValue(chunk)
        }
    }
}
