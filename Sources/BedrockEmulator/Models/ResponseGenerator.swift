import BedrockWire
import Foundation

/// The deterministic "model": answers are functions of the request (and its seed).
///
/// - A `toolResult` turn gets a text answer that quotes the result.
/// - `toolChoice` `any` / `tool` forces a call; `auto` calls a tool the last user turn
///   names. Tool input is built from the tool's JSON schema, so it validates.
/// - Otherwise the model echoes the user and continues with seeded filler words.
/// - `stopSequences` cut the text (`stop_sequence`), `maxTokens` cuts at an exact token
///   count (`max_tokens`).
struct ResponseGenerator: Sendable {
    private static let vocabulary = [
        "the", "quarry", "holds", "stone", "light", "river", "model", "answers", "quietly", "with",
        "careful", "words", "about", "local", "tests", "and", "every", "token", "counts", "here",
        "a", "small", "deterministic", "reply", "follows", "from", "its", "seed", "so", "runs",
        "repeat", "exactly", "while", "streams", "arrive", "in", "order", "under", "clear", "skies",
    ]

    func generate(_ request: GenerationRequest) -> GeneratedTurn {
        var rng = SeededGenerator(seed: seed(for: request))
        var planned: [OutputBlock] = []

        if let budget = request.reasoningBudget, request.model.supportsReasoning, budget > 0 {
            let thought = "The user wrote: \"\(Self.clip(request.lastUserText, tokens: 24))\". I will answer briefly and directly."
            let signature = String(StableHash.of(thought), radix: 16)
            planned.append(.reasoning(text: thought, signature: signature))
        }

        if let answer = toolResultAnswer(request) {
            planned.append(.text(answer))
        } else if let tool = chosenTool(request) {
            if request.toolSelection == .auto {
                planned.append(.text("I'll use the \(tool.name) tool to answer that."))
            }
            let input = SchemaSampler(hint: Self.salientWord(in: request.lastUserText)).value(for: tool.schema)
            planned.append(.toolUse(id: Self.toolUseID(&rng), name: tool.name, input: input))
        } else {
            planned.append(.text(fillerAnswer(request, &rng)))
        }
        return budgeted(planned, request)
    }

    // MARK: Content

    private func seed(for request: GenerationRequest) -> UInt64 {
        if let seed = request.seed { return seed }
        var hash = StableHash.of(request.model.id)
        for text in request.system { hash = StableHash.of(text.utf8, seed: hash) }
        for message in request.messages {
            hash = StableHash.of(message.role.rawValue.utf8, seed: hash)
            for block in message.blocks { hash = Self.hash(block, seed: hash) }
        }
        if let temperature = request.temperature { hash ^= temperature.bitPattern }
        return hash
    }

    private static func hash(_ block: InputBlock, seed: UInt64) -> UInt64 {
        switch block {
        case .text(let text): StableHash.of(text.utf8, seed: seed ^ 1)
        case .reasoning(let text): StableHash.of(text.utf8, seed: seed ^ 2)
        case .media(let kind): StableHash.of(kind.utf8, seed: seed ^ 3)
        case .toolUse(let id, let name, let input):
            StableHash.of(input.serialized, seed: StableHash.of((id + name).utf8, seed: seed ^ 4))
        case .toolResult(let id, let text, let isError):
            StableHash.of(text.utf8, seed: StableHash.of(id.utf8, seed: seed ^ (isError ? 5 : 6)))
        }
    }

    private func toolResultAnswer(_ request: GenerationRequest) -> String? {
        guard let last = request.messages.last, last.role == .user else { return nil }
        var parts: [String] = []
        for case .toolResult(let id, let text, let isError) in last.blocks {
            let name = toolName(forUseID: id, in: request) ?? "tool"
            parts.append(isError
                ? "The \(name) tool reported an error: \(Self.clip(text, tokens: 40))."
                : "The \(name) tool returned: \(Self.clip(text, tokens: 40)).")
        }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    private func toolName(forUseID id: String, in request: GenerationRequest) -> String? {
        for message in request.messages.reversed() where message.role == .assistant {
            for case .toolUse(let useID, let name, _) in message.blocks where useID == id { return name }
        }
        return nil
    }

    private func chosenTool(_ request: GenerationRequest) -> ToolDefinition? {
        guard !request.tools.isEmpty else { return nil }
        let text = request.lastUserText.lowercased()
        let named = request.tools.first { tool in
            let name = tool.name.lowercased()
            return text.contains(name) || text.contains(name.replacingOccurrences(of: "_", with: " "))
        }
        switch request.toolSelection {
        case .none: return nil
        case .auto: return named
        case .any: return named ?? request.tools.first
        case .named(let name): return request.tools.first { $0.name == name }
        }
    }

    private func fillerAnswer(_ request: GenerationRequest, _ rng: inout SeededGenerator) -> String {
        let said = Self.clip(request.lastUserText, tokens: 48)
        var answer = said.isEmpty ? "Hello from \(request.model.name)." : "You said: \"\(said)\"."
        let count = 6 + Int(rng.next() % 20)
        var words: [String] = []
        for _ in 0..<count { words.append(Self.vocabulary[Int(rng.next() % UInt64(Self.vocabulary.count))]) }
        if let first = words.first { words[0] = first.prefix(1).uppercased() + first.dropFirst() }
        answer += " " + words.joined(separator: " ") + "."
        return answer
    }

    // MARK: Limits

    /// Applies stop sequences and the token budget, and counts output tokens.
    private func budgeted(_ planned: [OutputBlock], _ request: GenerationRequest) -> GeneratedTurn {
        var remaining = request.maxTokens
        var blocks: [OutputBlock] = []
        var stopReason = StopReason.endTurn
        var stopSequence: String?
        var used = 0
        outer: for block in planned {
            switch block {
            case .reasoning(let text, let signature):
                let pieces = TokenCounter.pieces(text)
                if pieces.count > remaining {
                    blocks.append(.reasoning(text: pieces.prefix(remaining).joined(), signature: signature))
                    used += remaining
                    stopReason = .maxTokens
                    break outer
                }
                blocks.append(block)
                remaining -= pieces.count
                used += pieces.count
            case .text(var text):
                var hitStop = false
                if let (cut, sequence) = Self.firstStop(in: text, request.stopSequences) {
                    text = cut
                    stopSequence = sequence
                    hitStop = true
                }
                let pieces = TokenCounter.pieces(text)
                if pieces.count > remaining {
                    let kept = pieces.prefix(remaining).joined()
                    if !kept.isEmpty { blocks.append(.text(kept)) }
                    used += remaining
                    stopReason = .maxTokens
                    stopSequence = nil
                    break outer
                }
                if !text.isEmpty { blocks.append(.text(text)) }
                remaining -= pieces.count
                used += pieces.count
                if hitStop {
                    stopReason = .stopSequence
                    break outer
                }
            case .toolUse(_, let name, let input):
                let cost = TokenCounter.count(name) + TokenCounter.count(input.text)
                if cost > remaining {
                    used += remaining
                    stopReason = .maxTokens
                    break outer
                }
                blocks.append(block)
                remaining -= cost
                used += cost
                stopReason = .toolUse
            }
        }
        return GeneratedTurn(blocks: blocks, stopReason: stopReason, stopSequence: stopSequence,
                             inputTokens: request.inputTokens, outputTokens: used)
    }

    private static func firstStop(in text: String, _ sequences: [String]) -> (String, String)? {
        var best: (String.Index, String)?
        for sequence in sequences where !sequence.isEmpty {
            if let range = text.range(of: sequence), best.map({ range.lowerBound < $0.0 }) ?? true {
                best = (range.lowerBound, sequence)
            }
        }
        guard let (index, sequence) = best else { return nil }
        return (String(text[..<index]), sequence)
    }

    // MARK: Helpers

    static func clip(_ text: String, tokens: Int) -> String {
        let pieces = TokenCounter.pieces(text)
        let trimmed = pieces.count <= tokens ? text : pieces.prefix(tokens).joined() + "…"
        return trimmed.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static let base62 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    static func toolUseID(_ rng: inout SeededGenerator) -> String {
        var id = "tooluse_"
        for _ in 0..<22 { id.append(base62[Int(rng.next() % 62)]) }
        return id
    }

    /// The word a tool argument most likely wants: the last capitalised word after the
    /// first (a place or name), else the last word of three or more letters.
    static func salientWord(in text: String) -> String {
        // A proper noun: a capitalised word that does not start a sentence ("weather in
        // Lisbon? Use the tool" → Lisbon, not Use).
        let sentences = text.split(whereSeparator: { ".?!\n".contains($0) })
        for sentence in sentences {
            let words = sentence.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" })
            if let proper = words.dropFirst().first(where: { $0.first?.isUppercase == true }) { return String(proper) }
        }
        let words = text.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).map(String.init)
        return words.last(where: { $0.count >= 3 }) ?? "example"
    }
}

/// Builds a JSON value that satisfies a JSON schema (the subset tools use).
struct SchemaSampler {
    let hint: String

    func value(for schema: JSONValue, depth: Int = 0) -> JSONValue {
        guard depth < 8 else { return .null }
        if let options = schema["enum"]?.arrayValue, let first = options.first { return first }
        if let constant = schema["const"] { return constant }
        if let defaultValue = schema["default"] { return defaultValue }
        if let choices = (schema["anyOf"] ?? schema["oneOf"])?.arrayValue, let first = choices.first {
            return value(for: first, depth: depth + 1)
        }
        let type = schema["type"]?.stringValue ?? schema["type"]?.arrayValue?.first?.stringValue
            ?? (schema["properties"] != nil ? "object" : "string")
        switch type {
        case "object":
            let properties = schema["properties"]?.objectValue ?? [:]
            let required = schema["required"]?.arrayValue?.compactMap(\.stringValue)
            let names = required ?? properties.keys.sorted()
            var members: [String: JSONValue] = [:]
            for name in names {
                members[name] = value(for: properties[name] ?? [:], depth: depth + 1)
            }
            return .object(members)
        case "array":
            let count = max(1, schema["minItems"]?.intValue ?? 1)
            return .array(Array(repeating: value(for: schema["items"] ?? [:], depth: depth + 1), count: min(count, 8)))
        case "integer":
            return .int(schema["minimum"]?.intValue ?? 1)
        case "number":
            return .number(schema["minimum"]?.numberValue ?? 1)
        case "boolean":
            return .bool(true)
        case "null":
            return .null
        default:
            return .string(hint)
        }
    }
}
