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
        case .amazonTitanEmbeddings, .cohereEmbed, .amazonNovaReel: nil
        }
    }

    /// Reads a field that must be a whole number in 1...limit.
    static func maxTokens(_ value: JSONValue?, field: String, model: ModelDescriptor,
                          required: Bool) throws(ServiceError) -> Int {
        guard let value else {
            if required { throw .malformed("#: required key [\(field)] not found") }
            return model.defaultMaxTokens
        }
        guard let tokens = value.intValue else { throw .malformed("#/\(field): expected type: Integer, found: \(value.kindName.capitalized)") }
        if tokens < 1 { throw .malformed("#/\(field): \(tokens) is not greater or equal to 1") }
        if tokens > model.maxOutputTokens { throw .malformed("#/\(field): \(tokens) is not less or equal to \(model.maxOutputTokens)") }
        return tokens
    }

    static func temperature(_ value: JSONValue?) throws(ServiceError) -> Double? {
        guard let value else { return nil }
        guard let t = value.doubleValue else { throw .malformed("#/temperature: expected type: Number, found: \(value.kindName.capitalized)") }
        if t < 0 || t > 1 { throw .malformed("#/temperature: \(t) is not in the range 0 to 1") }
        return t
    }

    static func strings(_ value: JSONValue?, field: String) throws(ServiceError) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue else { throw .malformed("#/\(field): expected type: JSONArray, found: \(value.kindName.capitalized)") }
        return items.compactMap(\.stringValue)
    }

    static func requiredString(_ body: JSONValue, _ field: String) throws(ServiceError) -> String {
        guard let value = body[field] else { throw .malformed("#: required key [\(field)] not found") }
        guard let text = value.stringValue else { throw .malformed("#/\(field): expected type: String, found: \(value.kindName.capitalized)") }
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
        ["inputTokenCount": .int(turn.inputTokens), "outputTokenCount": .int(turn.outputTokens),
         "invocationLatency": .int(1 + turn.outputTokens), "firstByteLatency": 1]
    }

    /// Text deltas, one token each.
    static func textPieces(_ text: String) -> [String] { TokenCounter.pieces(text).map(String.init) }
}

// MARK: - Anthropic Claude (messages API)

struct AnthropicMessagesFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        guard body["anthropic_version"] != nil else { throw .malformed("#: required key [anthropic_version] not found") }
        var request = GenerationRequest(model: model, maxTokens: try NativeFormats.maxTokens(body["max_tokens"], field: "max_tokens", model: model, required: true))
        guard let messages = body["messages"]?.arrayValue else { throw .malformed("#: required key [messages] not found") }
        var converse: [JSONValue] = []
        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue else { throw .malformed("#/messages/\(index): required key [role] not found") }
            var blocks: [JSONValue] = []
            if let text = message["content"]?.stringValue {
                blocks.append(["text": .string(text)])
            } else if let items = message["content"]?.arrayValue {
                for item in items {
                    switch item["type"]?.stringValue {
                    case "text": blocks.append(["text": item["text"] ?? ""])
                    case "image", "document": blocks.append(["image": [:]])
                    case "tool_use":
                        blocks.append(["toolUse": ["toolUseId": item["id"] ?? "", "name": item["name"] ?? "", "input": item["input"] ?? [:]]])
                    case "tool_result":
                        let content: JSONValue = item["content"]?.stringValue.map { [["text": .string($0)]] }
                            ?? .array((item["content"]?.arrayValue ?? []).map { ["text": $0["text"] ?? ""] })
                        blocks.append(["toolResult": ["toolUseId": item["tool_use_id"] ?? "", "content": content,
                                                      "status": (item["is_error"]?.boolValue ?? false) ? "error" : "success"]])
                    case "thinking": blocks.append(["reasoningContent": ["reasoningText": ["text": item["thinking"] ?? ""]]])
                    default: throw .malformed("#/messages/\(index)/content: unknown content type")
                    }
                }
            } else {
                throw .malformed("#/messages/\(index): required key [content] not found")
            }
            converse.append(["role": .string(role), "content": .array(blocks)])
        }
        var wrapped: [String: JSONValue] = ["messages": .array(converse)]
        if let system = body["system"] {
            wrapped["system"] = system.stringValue.map { [["text": .string($0)]] }
                ?? .array((system.arrayValue ?? []).map { ["text": $0["text"] ?? ""] })
        }
        if let tools = body["tools"]?.arrayValue, !tools.isEmpty {
            var config: [String: JSONValue] = ["tools": .array(tools.map {
                ["toolSpec": ["name": $0["name"] ?? "", "description": $0["description"] ?? "", "inputSchema": ["json": $0["input_schema"] ?? [:]]]]
            })]
            switch body["tool_choice"]?["type"]?.stringValue {
            case "any": config["toolChoice"] = ["any": [:]]
            case "tool": config["toolChoice"] = ["tool": ["name": body["tool_choice"]?["name"] ?? ""]]
            default: break
            }
            wrapped["toolConfig"] = JSONValue(config)
        }
        if let thinking = body["thinking"] { wrapped["additionalModelRequestFields"] = ["thinking": thinking] }
        let parsed = try ConverseRequestReader(model: model).read(JSONValue(wrapped))
        request.messages = parsed.messages
        request.system = parsed.system
        request.tools = parsed.tools
        request.toolSelection = parsed.toolSelection
        request.reasoningBudget = parsed.reasoningBudget
        request.temperature = try NativeFormats.temperature(body["temperature"])
        request.stopSequences = try NativeFormats.strings(body["stop_sequences"], field: "stop_sequences")
        return request
    }

    private func content(_ block: OutputBlock) -> JSONValue {
        switch block {
        case .text(let text): ["type": "text", "text": .string(text)]
        case .reasoning(let text, let signature): ["type": "thinking", "thinking": .string(text), "signature": .string(signature)]
        case .toolUse(let id, let name, let input): ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
        }
    }

    func messageID(_ requestID: String) -> String {
        "msg_bdrk_" + requestID.replacingOccurrences(of: "-", with: "").prefix(24)
    }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        ["id": .string(messageID(requestID)), "type": "message", "role": "assistant", "model": .string(model.id),
         "content": .array(turn.blocks.map(content)), "stop_reason": .string(turn.stopReason.rawValue),
         "stop_sequence": turn.stopSequence.map { .string($0) } ?? .null,
         "usage": ["input_tokens": .int(turn.inputTokens), "output_tokens": .int(turn.outputTokens)]]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        var chunks: [JSONValue] = [[
            "type": "message_start",
            "message": ["id": .string(messageID(requestID)), "type": "message", "role": "assistant", "model": .string(model.id),
                        "content": [], "stop_reason": .null, "stop_sequence": .null,
                        "usage": ["input_tokens": .int(turn.inputTokens), "output_tokens": 1]],
        ]]
        for (index, block) in turn.blocks.enumerated() {
            let i = JSONValue.int(index)
            switch block {
            case .text(let text):
                chunks.append(["type": "content_block_start", "index": i, "content_block": ["type": "text", "text": ""]])
                for piece in NativeFormats.textPieces(text) {
                    chunks.append(["type": "content_block_delta", "index": i, "delta": ["type": "text_delta", "text": .string(piece)]])
                }
            case .reasoning(let text, let signature):
                chunks.append(["type": "content_block_start", "index": i, "content_block": ["type": "thinking", "thinking": ""]])
                for piece in NativeFormats.textPieces(text) {
                    chunks.append(["type": "content_block_delta", "index": i, "delta": ["type": "thinking_delta", "thinking": .string(piece)]])
                }
                chunks.append(["type": "content_block_delta", "index": i, "delta": ["type": "signature_delta", "signature": .string(signature)]])
            case .toolUse(let id, let name, let input):
                chunks.append(["type": "content_block_start", "index": i,
                               "content_block": ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]]])
                for part in ToolInputSplitter.parts(input) {
                    chunks.append(["type": "content_block_delta", "index": i, "delta": ["type": "input_json_delta", "partial_json": .string(part)]])
                }
            }
            chunks.append(["type": "content_block_stop", "index": i])
        }
        chunks.append(["type": "message_delta",
                       "delta": ["stop_reason": .string(turn.stopReason.rawValue), "stop_sequence": turn.stopSequence.map { .string($0) } ?? .null],
                       "usage": ["output_tokens": .int(turn.outputTokens)]])
        chunks.append(["type": "message_stop", "amazon-bedrock-invocationMetrics": NativeFormats.invocationMetrics(turn)])
        return chunks
    }
}

/// Splits a tool's input JSON into the partial strings streams deliver it in.
enum ToolInputSplitter {
    static func parts(_ input: JSONValue) -> [String] {
        let text = input.text
        var parts: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if current.count >= 12 { parts.append(current); current = "" }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }
}

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
        ["output": ["message": ["role": "assistant", "content": .array(turn.blocks.map(ConverseShapes.block))]],
         "stopReason": .string(turn.stopReason.rawValue), "usage": ConverseShapes.usage(turn)]
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

// MARK: - Titan Text

struct TitanTextFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        var request = NativeFormats.prompt(try NativeFormats.requiredString(body, "inputText"), model: model)
        let config = body["textGenerationConfig"]
        request.maxTokens = try NativeFormats.maxTokens(config?["maxTokenCount"], field: "textGenerationConfig/maxTokenCount", model: model, required: false)
        request.temperature = try NativeFormats.temperature(config?["temperature"])
        request.stopSequences = try NativeFormats.strings(config?["stopSequences"], field: "textGenerationConfig/stopSequences")
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
        ["inputTextTokenCount": .int(turn.inputTokens),
         "results": [["tokenCount": .int(turn.outputTokens), "outputText": .string(turn.text), "completionReason": .string(reason(turn))]]]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        var chunks: [JSONValue] = []
        for (index, piece) in pieces.enumerated() {
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = ["outputText": .string(piece), "index": 0,
                                              "totalOutputTextTokenCount": .int(index + 1),
                                              "completionReason": last ? .string(reason(turn)) : .null,
                                              "inputTextTokenCount": .int(turn.inputTokens)]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            chunks.append(JSONValue(chunk))
        }
        return chunks
    }
}

// MARK: - Meta Llama

struct LlamaFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        var request = NativeFormats.prompt(try NativeFormats.requiredString(body, "prompt"), model: model)
        request.maxTokens = try NativeFormats.maxTokens(body["max_gen_len"], field: "max_gen_len", model: model, required: false)
        request.temperature = try NativeFormats.temperature(body["temperature"])
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "length" : "stop" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        ["generation": .string(turn.text), "prompt_token_count": .int(turn.inputTokens),
         "generation_token_count": .int(turn.outputTokens), "stop_reason": .string(reason(turn))]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        return pieces.enumerated().map { index, piece in
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = ["generation": .string(piece), "prompt_token_count": index == 0 ? .int(turn.inputTokens) : .null,
                                              "generation_token_count": .int(index + 1), "stop_reason": last ? .string(reason(turn)) : .null]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            return JSONValue(chunk)
        }
    }
}

// MARK: - Mistral

struct MistralFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        var request = NativeFormats.prompt(try NativeFormats.requiredString(body, "prompt"), model: model)
        request.maxTokens = try NativeFormats.maxTokens(body["max_tokens"], field: "max_tokens", model: model, required: false)
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
            var chunk: [String: JSONValue] = ["outputs": [["text": .string(piece), "stop_reason": last ? .string(reason(turn)) : .null]]]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            return JSONValue(chunk)
        }
    }
}

// MARK: - Cohere Command R

struct CohereCommandFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        let message = try NativeFormats.requiredString(body, "message")
        var request = GenerationRequest(model: model, maxTokens: try NativeFormats.maxTokens(body["max_tokens"], field: "max_tokens", model: model, required: false))
        for turn in body["chat_history"]?.arrayValue ?? [] {
            let role: ConversationRole = turn["role"]?.stringValue == "CHATBOT" ? .assistant : .user
            request.messages.append(ConversationMessage(role: role, blocks: [.text(turn["message"]?.stringValue ?? "")]))
        }
        request.messages.append(ConversationMessage(role: .user, blocks: [.text(message)]))
        if let preamble = body["preamble"]?.stringValue { request.system = [preamble] }
        request.temperature = try NativeFormats.temperature(body["temperature"])
        request.stopSequences = try NativeFormats.strings(body["stop_sequences"], field: "stop_sequences")
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "MAX_TOKENS" : "COMPLETE" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        ["response_id": .string(requestID), "generation_id": .string(requestID), "text": .string(turn.text),
         "finish_reason": .string(reason(turn)), "chat_history": [["role": "CHATBOT", "message": .string(turn.text)]]]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        var chunks: [JSONValue] = [["is_finished": false, "event_type": "stream-start", "generation_id": .string(requestID)]]
        for piece in NativeFormats.textPieces(turn.text) {
            chunks.append(["is_finished": false, "event_type": "text-generation", "text": .string(piece)])
        }
        chunks.append(["is_finished": true, "event_type": "stream-end", "finish_reason": .string(reason(turn)),
                       "response": response(turn, model: model, requestID: requestID),
                       "amazon-bedrock-invocationMetrics": NativeFormats.invocationMetrics(turn)])
        return chunks
    }
}

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
        var request = GenerationRequest(model: model, maxTokens: try NativeFormats.maxTokens(
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
        if let stop = body["stop"]?.stringValue { request.stopSequences = [stop] } else {
            request.stopSequences = try NativeFormats.strings(body["stop"], field: "stop")
        }
        return request
    }

    private func reason(_ turn: GeneratedTurn) -> String { turn.stopReason == .maxTokens ? "length" : "stop" }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        ["id": .string("chatcmpl-" + requestID), "object": "chat.completion", "model": .string(model.id),
         "choices": [["index": 0, "message": ["role": "assistant", "content": .string(turn.text)],
                      "finish_reason": .string(reason(turn))]],
         "usage": ["prompt_tokens": .int(turn.inputTokens), "completion_tokens": .int(turn.outputTokens),
                   "total_tokens": .int(turn.totalTokens)]]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        let pieces = NativeFormats.textPieces(turn.text)
        return pieces.enumerated().map { index, piece in
            let last = index == pieces.count - 1
            var chunk: [String: JSONValue] = [
                "id": .string("chatcmpl-" + requestID), "object": "chat.completion.chunk", "model": .string(model.id),
                "choices": [["index": 0, "delta": ["content": .string(piece)], "finish_reason": last ? .string(reason(turn)) : .null]],
            ]
            if last { chunk["amazon-bedrock-invocationMetrics"] = NativeFormats.invocationMetrics(turn) }
            return JSONValue(chunk)
        }
    }
}
