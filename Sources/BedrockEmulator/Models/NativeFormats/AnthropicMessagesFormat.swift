import BedrockWire
import Foundation

// MARK: - Anthropic Claude (messages API)

struct AnthropicMessagesFormat: NativeFormat {
    func read(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        guard body["anthropic_version"] != nil else {
            throw .malformed("#: required key [anthropic_version] not found")
        }
        var request = GenerationRequest(
            model: model,
            maxTokens: try NativeFormats.maxTokens(
                body["max_tokens"], field: "max_tokens", model: model, required: true))
        guard let messages = body["messages"]?.arrayValue else {
            throw .malformed("#: required key [messages] not found")
        }
        var converse: [JSONValue] = []
        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue else {
                throw .malformed("#/messages/\(index): required key [role] not found")
            }
            var blocks: [JSONValue] = []
            if let text = message["content"]?.stringValue {
                blocks.append(["text": .string(text)])
            } else if let items = message["content"]?.arrayValue {
                for item in items {
                    switch item["type"]?.stringValue {
                    case "text": blocks.append(["text": item["text"] ?? ""])
                    case "image", "document": blocks.append(["image": [:]])
                    case "tool_use":
                        blocks.append([
                            "toolUse": [
                                "toolUseId": item["id"] ?? "", "name": item["name"] ?? "",
                                "input": item["input"] ?? [:],
                            ]
                        ])
                    case "tool_result":
                        let content: JSONValue =
                            item["content"]?.stringValue.map { [["text": .string($0)]] }
                            ?? .array((item["content"]?.arrayValue ?? []).map { ["text": $0["text"] ?? ""] })
                        blocks.append([
                            "toolResult": [
                                "toolUseId": item["tool_use_id"] ?? "", "content": content,
                                "status": (item["is_error"]?.boolValue ?? false) ? "error" : "success",
                            ]
                        ])
                    case "thinking":
                        blocks.append(["reasoningContent": ["reasoningText": ["text": item["thinking"] ?? ""]]])
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
            wrapped["system"] =
                system.stringValue.map { [["text": .string($0)]] }
                ?? .array((system.arrayValue ?? []).map { ["text": $0["text"] ?? ""] })
        }
        if let tools = body["tools"]?.arrayValue, !tools.isEmpty {
            var config: [String: JSONValue] = [
                "tools": .array(
                    tools.map {
                        [
                            "toolSpec": [
                                "name": $0["name"] ?? "", "description": $0["description"] ?? "",
                                "inputSchema": ["json": $0["input_schema"] ?? [:]],
                            ]
                        ]
                    })
            ]
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
        case .reasoning(let text, let signature):
            ["type": "thinking", "thinking": .string(text), "signature": .string(signature)]
        case .toolUse(let id, let name, let input):
            ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
        }
    }

    func messageID(_ requestID: String) -> String {
        "msg_bdrk_" + requestID.replacingOccurrences(of: "-", with: "").prefix(24)
    }

    func response(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> JSONValue {
        [
            "id": .string(messageID(requestID)), "type": "message", "role": "assistant", "model": .string(model.id),
            "content": .array(turn.blocks.map(content)), "stop_reason": .string(turn.stopReason.rawValue),
            "stop_sequence": turn.stopSequence.map { .string($0) } ?? .null,
            "usage": ["input_tokens": .int(turn.inputTokens), "output_tokens": .int(turn.outputTokens)],
        ]
    }

    func streamChunks(_ turn: GeneratedTurn, model: ModelDescriptor, requestID: String) -> [JSONValue] {
        var chunks: [JSONValue] = [
            [
                "type": "message_start",
                "message": [
                    "id": .string(messageID(requestID)), "type": "message", "role": "assistant",
                    "model": .string(model.id),
                    "content": [], "stop_reason": .null, "stop_sequence": .null,
                    "usage": ["input_tokens": .int(turn.inputTokens), "output_tokens": 1],
                ],
            ]
        ]
        for (index, block) in turn.blocks.enumerated() {
            let i = JSONValue.int(index)
            switch block {
            case .text(let text):
                chunks.append([
                    "type": "content_block_start", "index": i, "content_block": ["type": "text", "text": ""],
                ])
                for piece in NativeFormats.textPieces(text) {
                    chunks.append([
                        "type": "content_block_delta", "index": i,
                        "delta": ["type": "text_delta", "text": .string(piece)],
                    ])
                }
            case .reasoning(let text, let signature):
                chunks.append([
                    "type": "content_block_start", "index": i, "content_block": ["type": "thinking", "thinking": ""],
                ])
                for piece in NativeFormats.textPieces(text) {
                    chunks.append([
                        "type": "content_block_delta", "index": i,
                        "delta": ["type": "thinking_delta", "thinking": .string(piece)],
                    ])
                }
                chunks.append([
                    "type": "content_block_delta", "index": i,
                    "delta": ["type": "signature_delta", "signature": .string(signature)],
                ])
            case .toolUse(let id, let name, let input):
                chunks.append([
                    "type": "content_block_start", "index": i,
                    "content_block": ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]],
                ])
                for part in ToolInputSplitter.parts(input) {
                    chunks.append([
                        "type": "content_block_delta", "index": i,
                        "delta": ["type": "input_json_delta", "partial_json": .string(part)],
                    ])
                }
            }
            chunks.append(["type": "content_block_stop", "index": i])
        }
        chunks.append([
            "type": "message_delta",
            "delta": [
                "stop_reason": .string(turn.stopReason.rawValue),
                "stop_sequence": turn.stopSequence.map { .string($0) } ?? .null,
            ],
            "usage": ["output_tokens": .int(turn.outputTokens)],
        ])
        chunks.append([
            "type": "message_stop", "amazon-bedrock-invocationMetrics": NativeFormats.invocationMetrics(turn),
        ])
        return chunks
    }
}
