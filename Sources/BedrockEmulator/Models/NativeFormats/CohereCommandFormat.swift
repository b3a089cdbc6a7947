import BedrockWire
import Foundation

// MARK: - Cohere Command R

struct CohereCommandFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        let message = try NativeFormats.requiredString(body, "message")
        var request = GenerationRequest(
            model: model,
            maxTokens: try NativeFormats.maxTokens(
                body["max_tokens"], field: "max_tokens", model: model, required: false))
        for turn in body["chat_history"]?.arrayValue ?? [] {
            let role: ConversationRole = turn["role"]?.stringValue == "CHATBOT" ? .assistant : .user
            request.messages.append(
                ConversationMessage(role: role, blocks: [.text(turn["message"]?.stringValue ?? "")]))
        }
        request.messages.append(ConversationMessage(role: .user, blocks: [.text(message)]))
        if let preamble = body["preamble"]?.stringValue { request.system = [preamble] }
        request.temperature = try NativeFormats.temperature(body["temperature"])
        request.stopSequences = try NativeFormats.strings(body["stop_sequences"], field: "stop_sequences")
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "MAX_TOKENS" : "COMPLETE" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        [
            "response_id": .string(requestID), "generation_id": .string(requestID), "text": .string(turn.text),
            "finish_reason": .string(reason(turn)),
            "chat_history": [["role": "CHATBOT", "message": .string(turn.text)]],
        ]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        var chunks: [JSONValue] = [
            ["is_finished": false, "event_type": "stream-start", "generation_id": .string(requestID)]
        ]
        for piece in NativeFormats.textPieces(turn.text) {
            chunks.append(["is_finished": false, "event_type": "text-generation", "text": .string(piece)])
        }
        chunks.append([
            "is_finished": true, "event_type": "stream-end", "finish_reason": .string(reason(turn)),
            "response": response(turn, model: model, requestID: requestID),
            "amazon-bedrock-invocationMetrics": NativeFormats.invocationMetrics(turn),
        ])
        return chunks
    }
}
