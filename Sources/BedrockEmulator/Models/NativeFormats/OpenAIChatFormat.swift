import BedrockWire
import Foundation

// MARK: - OpenAI chat completions (gpt-oss, DeepSeek, Qwen)

/// The chat-completions body Bedrock takes for OpenAI's gpt-oss and the other
/// open-weight chat models: `messages` of `{role, content}` (`system` turns become the
/// system prompt), `max_completion_tokens` (or `max_tokens`), `temperature`, `stop`.
struct OpenAIChatFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        guard let messages = body["messages"]?.arrayValue, !messages.isEmpty else {
            throw .malformed("#: required key [messages] not found")
        }
        let limit = body["max_completion_tokens"] ?? body["max_tokens"]
        var request = GenerationRequest(
            model: model,
            maxTokens: try NativeFormats.maxTokens(
                limit, field: "max_completion_tokens", model: model, required: false))
        for (index, message) in messages.enumerated() {
            let text: String
            if let plain = message["content"]?.stringValue {
                text = plain
            } else if let parts = message["content"]?.arrayValue {
                text = parts.compactMap { $0["text"]?.stringValue }.joined(separator: " ")
            } else {
                throw .malformed("#/messages/\(index)/content: expected type: String")
            }
            switch message["role"]?.stringValue {
            case "system", "developer": request.system.append(text)
            case "assistant": request.messages.append(ConversationMessage(role: .assistant, blocks: [.text(text)]))
            case "user": request.messages.append(ConversationMessage(role: .user, blocks: [.text(text)]))
            default: throw .malformed("#/messages/\(index)/role: must be one of system, developer, user, assistant")
            }
        }
        request.temperature = try NativeFormats.temperature(body["temperature"])
        if let stop = body["stop"]?.stringValue {
            request.stopSequences = [stop]
        } else {
            request.stopSequences = try NativeFormats.strings(body["stop"], field: "stop")
        }
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "length" : "stop" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        [
            "id": .string("chatcmpl-" + requestID), "object": "chat.completion", "model": .string(model.id),
            "choices": [
                [
                    "index": 0, "message": ["role": "assistant", "content": .string(turn.text)],
                    "finish_reason": .string(reason(turn)),
                ]
            ],
            "usage": [
                "prompt_tokens": .int(turn.inputTokens), "completion_tokens": .int(turn.outputTokens),
                "total_tokens": .int(turn.totalTokens),
            ],
        ]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        return pieces.enumerated().map { index, piece in
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = [
                "id": .string("chatcmpl-" + requestID), "object": "chat.completion.chunk", "model": .string(model.id),
                "choices": [
                    [
                        "index": 0, "delta": ["content": .string(piece)],
                        "finish_reason": last ? .string(reason(turn)) : .null,
                    ]
                ],
            ]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            return JSONValue(chunk)
        }
    }
}
