import BedrockWire

/// One event of a ConverseStream (its `:event-type` and JSON payload).
struct StreamEvent: Sendable {
    var type: String
    var payload: JSONValue
}

/// The Converse API's JSON shapes for an answer: content blocks, usage and stream events.
enum ConverseShapes {
    static func block(_ block: OutputBlock) -> JSONValue {
        switch block {
        case .text(let text): ["text": .string(text)]
        case .reasoning(let text, let signature):
            ["reasoningContent": ["reasoningText": ["text": .string(text), "signature": .string(signature)]]]
        case .toolUse(let id, let name, let input):
            ["toolUse": ["toolUseId": .string(id), "name": .string(name), "input": input]]
        }
    }

    static func usage(_ turn: GeneratedTurn) -> JSONValue {
        var usage: JSONValue = [
            "inputTokens": .int(turn.inputTokens), "outputTokens": .int(turn.outputTokens),
            "totalTokens": .int(turn.totalTokens),
        ]
        if let read = turn.cacheReadInputTokens { usage["cacheReadInputTokens"] = .int(read) }
        if let write = turn.cacheWriteInputTokens {
            usage["cacheWriteInputTokens"] = .int(write)
            if write > 0 {
                // Cache creation per time to live, as the service reports it.
                usage["cacheDetails"] = [["ttl": .string(turn.cacheTTL ?? "5m"), "inputTokens": .int(write)]]
            }
        }
        return usage
    }

    static func response(_ turn: GeneratedTurn, latencyMs: Int) -> JSONValue {
        var content = turn.blocks.map(block)
        if let at = citedIndex(turn), case .text(let text) = turn.blocks[at] {
            // Cited text is a citationsContent block, as the service answers grounded text.
            content[at] = [
                "citationsContent": ["content": [["text": .string(text)]], "citations": .array(turn.citations)]
            ]
        }
        var response: JSONValue = [
            "output": ["message": ["role": "assistant", "content": .array(content)]],
            "stopReason": .string(turn.stopReason.rawValue), "usage": usage(turn),
            "metrics": ["latencyMs": .int(latencyMs)],
        ]
        if let trace = turn.trace { response["trace"] = trace }
        return response
    }

    /// The text block the turn's citations belong to: the first text block.
    static func citedIndex(_ turn: GeneratedTurn) -> Int? {
        guard !turn.citations.isEmpty else { return nil }
        return turn.blocks.firstIndex { if case .text = $0 { true } else { false } }
    }

    /// The events of a ConverseStream answer, as the service orders them: text blocks
    /// start with deltas directly (cited text then has `citation` deltas); tool-use
    /// blocks open with `contentBlockStart`.
    static func streamEvents(_ turn: GeneratedTurn, latencyMs: Int) -> [StreamEvent] {
        let cited = citedIndex(turn)
        var events = [StreamEvent(type: "messageStart", payload: ["role": "assistant"])]
        for (index, block) in turn.blocks.enumerated() {
            let i = JSONValue.int(index)
            switch block {
            case .text(let text):
                for piece in NativeFormats.textPieces(text) {
                    events.append(
                        StreamEvent(
                            type: "contentBlockDelta",
                            payload: ["contentBlockIndex": i, "delta": ["text": .string(piece)]]))
                }
                if index == cited {
                    for citation in turn.citations {
                        events.append(
                            StreamEvent(
                                type: "contentBlockDelta",
                                payload: ["contentBlockIndex": i, "delta": ["citation": citation]]))
                    }
                }
            case .reasoning(let text, let signature):
                for piece in NativeFormats.textPieces(text) {
                    events.append(
                        StreamEvent(
                            type: "contentBlockDelta",
                            payload: ["contentBlockIndex": i, "delta": ["reasoningContent": ["text": .string(piece)]]]))
                }
                events.append(
                    StreamEvent(
                        type: "contentBlockDelta",
                        payload: [
                            "contentBlockIndex": i, "delta": ["reasoningContent": ["signature": .string(signature)]],
                        ]))
            case .toolUse(let id, let name, let input):
                events.append(
                    StreamEvent(
                        type: "contentBlockStart",
                        payload: [
                            "contentBlockIndex": i,
                            "start": ["toolUse": ["toolUseId": .string(id), "name": .string(name)]],
                        ]))
                for part in ToolInputSplitter.parts(input) {
                    events.append(
                        StreamEvent(
                            type: "contentBlockDelta",
                            payload: ["contentBlockIndex": i, "delta": ["toolUse": ["input": .string(part)]]]))
                }
            }
            events.append(StreamEvent(type: "contentBlockStop", payload: ["contentBlockIndex": i]))
        }
        events.append(StreamEvent(type: "messageStop", payload: ["stopReason": .string(turn.stopReason.rawValue)]))
        var metadata: JSONValue = ["usage": usage(turn), "metrics": ["latencyMs": .int(latencyMs)]]
        if let trace = turn.trace { metadata["trace"] = trace }
        events.append(StreamEvent(type: "metadata", payload: metadata))
        return events
    }

    /// Adds the random-length `"p"` padding field the service puts in every payload
    /// (deterministic here: its length follows the event's position).
    static func padded(_ payload: JSONValue, index: Int) -> JSONValue {
        guard case .object = payload else { return payload }
        let alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        var padded = payload
        padded["p"] = .string(String(alphabet.prefix(1 + (index * 7) % alphabet.count)))
        return padded
    }
}

/// Deterministic embeddings: a unit vector seeded by the text, so equal texts embed equally.
enum EmbeddingGenerator {
    static func vector(for text: String, dimensions: Int) -> [Double] {
        var rng = SeededGenerator(seed: StableHash.of(text))
        var values = (0..<dimensions).map { _ in rng.nextUnit() * 2 - 1 }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { values = values.map { $0 / norm } }
        return values
    }

    /// InvokeModel for an embedding model: reads the family's body and answers it.
    static func invoke(_ body: JSONValue, model: ModelDescriptor) throws(ServiceError) -> (JSONValue, inputTokens: Int)
    {
        guard case .object = body else { throw .malformed("#: expected type: JSONObject") }
        switch model.family {
        case .cohereEmbed:
            guard let texts = body["texts"]?.arrayValue?.compactMap(\.stringValue), !texts.isEmpty else {
                throw .malformed("#: required key [texts] not found")
            }
            guard body["input_type"]?.stringValue != nil else {
                throw .malformed("#: required key [input_type] not found")
            }
            let dimensions = model.embeddingDimensions ?? 1024
            let vectors: [JSONValue] = texts.map { .array(vector(for: $0, dimensions: dimensions).map { .double($0) }) }
            return (
                [
                    "id": .string(String(StableHash.of(texts.joined()), radix: 16)),
                    "response_type": "embeddings_floats",
                    "texts": .array(texts.map { .string($0) }), "embeddings": .array(vectors),
                ],
                texts.reduce(0) { $0 + TokenCounter.count($1) }
            )
        default:
            let text = try NativeFormats.requiredString(body, "inputText")
            var dimensions = model.embeddingDimensions ?? 1024
            if let requested = body["dimensions"] {
                guard let value = requested.intValue, [256, 512, 1024].contains(value), model.id.hasSuffix("v2:0")
                else {
                    throw .malformed("#/dimensions: \(requested.text) is not a valid enum value")
                }
                dimensions = value
            }
            let tokens = TokenCounter.count(text)
            return (
                [
                    "embedding": .array(vector(for: text, dimensions: dimensions).map { .double($0) }),
                    "inputTextTokenCount": .int(tokens),
                ], tokens
            )
        }
    }
}
