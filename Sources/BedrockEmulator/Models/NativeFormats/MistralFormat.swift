import BedrockWire
import Foundation

// MARK: - Mistral

struct MistralFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        var request = NativeFormats.prompt(try NativeFormats.requiredString(body, "prompt"), model: model)
        request.maxTokens = try NativeFormats.maxTokens(
            body["max_tokens"], field: "max_tokens", model: model, required: false)
        request.temperature = try NativeFormats.temperature(body["temperature"])
        request.stopSequences = try NativeFormats.strings(body["stop"], field: "stop")
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "length" : "stop" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        ["outputs": [["text": .string(turn.text), "stop_reason": .string(reason(turn))]]]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        return pieces.enumerated().map { index, piece in
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = [
                "outputs": [["text": .string(piece), "stop_reason": last ? .string(reason(turn)) : .null]]
            ]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            return JSONValue(chunk)
        }
    }
}
