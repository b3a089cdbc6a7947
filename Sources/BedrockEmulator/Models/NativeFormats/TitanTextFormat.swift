import BedrockWire
import Foundation

// MARK: - Titan Text

struct TitanTextFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        var request = NativeFormats.prompt(try NativeFormats.requiredString(body, "inputText"), model: model)
        let config = body["textGenerationConfig"]
        request.maxTokens = try NativeFormats.maxTokens(
            config?["maxTokenCount"], field: "textGenerationConfig/maxTokenCount", model: model, required: false)
        request.temperature = try NativeFormats.temperature(config?["temperature"])
        request.stopSequences = try NativeFormats.strings(
            config?["stopSequences"], field: "textGenerationConfig/stopSequences")
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String {
        switch turn.stopReason {
        case .maxTokens: "LENGTH"
        case .stopSequence: "STOP_CRITERIA_MET"
        default: "FINISH"
        }
    }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        [
            "inputTextTokenCount": .int(turn.inputTokens),
            "results": [
                [
                    "tokenCount": .int(turn.outputTokens), "outputText": .string(turn.text),
                    "completionReason": .string(reason(turn)),
                ]
            ],
        ]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        var chunks: [JSONValue] = []
        for (index, piece) in pieces.enumerated() {
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = [
                "outputText": .string(piece), "index": 0,
                "totalOutputTextTokenCount": .int(index + 1),
                "completionReason": last ? .string(reason(turn)) : .null,
                "inputTextTokenCount": .int(turn.inputTokens),
            ]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            chunks.append(JSONValue(chunk))
        }
        return chunks
    }
}
