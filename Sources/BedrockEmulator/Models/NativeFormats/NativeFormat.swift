import BedrockWire
import Foundation

/// A model family's own InvokeModel body format: how its request reads into a
/// ``GenerationRequest`` and how an answer is written back, whole or as stream chunks.
protocol NativeFormat: Sendable {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest
    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue
    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue]
}

enum NativeFormats {
    /// The format for a text-generating family (`nil` for embedding families).
    static func format(for family: ModelFamily) -> (any NativeFormat)? {
        switch family {
        case .anthropicClaude: AnthropicMessagesFormat()
        case .amazonNova: NovaFormat()
        case .amazonTitanText: TitanTextFormat()
        case .metaLlama: LlamaFormat()
        case .mistral: MistralFormat()
        case .cohereCommand: CohereCommandFormat()
        case .openAIChat: OpenAIChatFormat()
        case .amazonTitanEmbeddings, .cohereEmbed, .amazonNovaReel, .amazonNovaSonic: nil
        }
    }

    /// Reads a field that must be a whole number in 1...limit.
    static func maxTokens(
        _ value: JSONValue?, field: String, model: ModelDescriptor,
        required: Bool
    ) throws(ServiceError) -> Int {
        guard let value else {
            if required { throw .malformed("#: required key [\(field)] not found") }
            return model.defaultMaxTokens
        }
        guard let tokens = value.intValue else {
            throw .malformed("#/\(field): expected type: Integer, found: \(value.kindName.capitalized)")
        }
        if tokens < 1 { throw .malformed("#/\(field): \(tokens) is not greater or equal to 1") }
        if tokens > model.maxOutputTokens {
            throw .malformed("#/\(field): \(tokens) is not less or equal to \(model.maxOutputTokens)")
        }
        return tokens
    }

    static func temperature(_ value: JSONValue?) throws(ServiceError) -> Double? {
        guard let value else { return nil }
        guard let t = value.doubleValue else {
            throw .malformed("#/temperature: expected type: Number, found: \(value.kindName.capitalized)")
        }
        if t < 0 || t > 1 { throw .malformed("#/temperature: \(t) is not in the range 0 to 1") }
        return t
    }

    static func strings(_ value: JSONValue?, field: String) throws(ServiceError) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue else {
            throw .malformed("#/\(field): expected type: JSONArray, found: \(value.kindName.capitalized)")
        }
        return items.compactMap(\.stringValue)
    }

    static func requiredString(_ body: JSONValue, _ field: String) throws(ServiceError) -> String {
        guard let value = body[field] else { throw .malformed("#: required key [\(field)] not found") }
        guard let text = value.stringValue else {
            throw .malformed("#/\(field): expected type: String, found: \(value.kindName.capitalized)")
        }
        return text
    }

    /// A single-user-turn request from a prompt string.
    static func prompt(_ text: String, model: ModelDescriptor) -> GenerationRequest {
        var request = GenerationRequest(model: model, maxTokens: model.defaultMaxTokens)
        request.messages = [ConversationMessage(role: .user, blocks: [.text(text)])]
        return request
    }

    /// The metrics object Bedrock appends to the last chunk of every stream.
    static func invocationMetrics(_ turn: GeneratedTurn) -> JSONValue {
        [
            "inputTokenCount": .int(turn.inputTokens), "outputTokenCount": .int(turn.outputTokens),
            "invocationLatency": .int(1 + turn.outputTokens), "firstByteLatency": 1,
        ]
    }

    /// Text deltas, one token each.
    static func textPieces(_ text: String) -> [String] { TokenCounter.pieces(text).map(String.init) }
}
