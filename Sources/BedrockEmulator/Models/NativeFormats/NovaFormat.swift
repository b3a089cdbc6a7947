import BedrockWire
import Foundation

// MARK: - Amazon Nova (messages-v1)

struct NovaFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard var members = body.objectValue else { throw .malformed("#: expected type: JSONObject") }
        guard members["messages"] != nil else { throw .malformed("#: required key [messages] not found") }
        var inference: [String: JSONValue] = [:]
        if let config = members["inferenceConfig"] {
            inference["maxTokens"] = config["maxTokens"] ?? config["max_new_tokens"]
            inference["temperature"] = config["temperature"]
            inference["topP"] = config["topP"] ?? config["top_p"]
            inference["stopSequences"] = config["stopSequences"]
        }
        members["inferenceConfig"] = JSONValue(inference)
        members.removeValue(forKey: "schemaVersion")
        return try ConverseRequestReader(model: model).read(JSONValue(members))
    }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        [
            "output": ["message": ["role": "assistant", "content": .array(turn.blocks.map(ConverseShapes.block))]],
            "stopReason": .string(turn.stopReason.rawValue), "usage": ConverseShapes.usage(turn),
        ]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        var chunks: [JSONValue] = []
        for event in ConverseShapes.streamEvents(turn, latencyMs: 1) {
            chunks.append([event.type: event.payload])
        }
        if case .object = chunks.last {
            chunks[chunks.count - 1]["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn)
        }
        return chunks
    }
}
