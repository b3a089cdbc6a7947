import BedrockWire
import Foundation

/// The deterministic "model": answers are functions of the request (and its seed).
///
/// - A `toolResult` turn gets a text answer that quotes the result.
/// - `toolChoice` `any` / `tool` forces a call; `auto` calls the tool the last user
///   turn names, else the one whose name and description share the most salient
///   words with it, else the first when the turn asks to use a tool. Tool input is
///   built from the tool's JSON schema, so it validates.
/// - Otherwise the model quotes the user, acknowledges the system prompt and history,
///   and writes prose about the turn's salient words (longer for longer requests).
/// - With `outputConfig.textFormat` (a JSON schema) the text is JSON valid against it.
/// - `stopSequences` cut the text (`stop_sequence`), `maxTokens` cuts at an exact token
///   count (`max_tokens`).
struct ResponseGenerator: Sendable {
    /// The guardrail policy a `guardrailConfig` applies (ApplyGuardrail's).
    var policy = GuardrailEvaluator()

    func generate(_ request: GenerationRequest) -> GeneratedTurn {
        if let guardrail = request.guardrail, let blocked = guarded(request, guardrail) { return blocked }
        var rng = SeededGenerator(seed: seed(for: request))
        var planned: [OutputBlock] = []

        if let budget = request.reasoningBudget, request.model.supportsReasoning, budget > 0 {
            let thought =
                "The user wrote: \"\(Self.clip(request.lastUserText, tokens: 24))\". I will answer briefly and directly."
            let signature = String(StableHash.of(thought), radix: 16)
            planned.append(.reasoning(text: thought, signature: signature))
        }

        if let answer = toolResultAnswer(request) {
            if let schema = request.outputSchema {
                let hint = Self.salientWord(
                    in: request.messages.last { $0.role == .user && !$0.textOnly.isEmpty }?.textOnly ?? answer)
                planned.append(.text(SchemaSampler(hint: hint).value(for: schema).text))
            } else {
                planned.append(.text(answer))
            }
        } else if let tool = chosenTool(request) {
            if request.toolSelection == .auto {
                planned.append(.text("I'll use the \(tool.name) tool to answer that."))
            }
            let input = SchemaSampler(hint: Self.salientWord(in: request.lastUserText)).value(for: tool.schema)
            planned.append(.toolUse(id: Self.toolUseID(&rng), name: tool.name, input: input))
        } else if let schema = request.outputSchema {
            // Structured output: JSON valid against the schema, filled from the turn.
            planned.append(
                .text(SchemaSampler(hint: Self.salientWord(in: request.lastUserText)).value(for: schema).text))
        } else {
            planned.append(.text(fillerAnswer(request, &rng)))
        }
        return budgeted(planned, request)
    }

    // MARK: Scripted replies

    /// The answer a scripted reply gives (text, a tool call or JSON), under the same
    /// token budget and stop sequences as a generated one.
    func scripted(_ reply: ScriptedReply, for request: GenerationRequest) -> GeneratedTurn {
        var rng = SeededGenerator(seed: seed(for: request))
        if let tool = reply.tool {
            let schema = request.tools.first { $0.name == tool.name }?.schema ?? ["type": "object"]
            let input = tool.input ?? SchemaSampler(hint: Self.salientWord(in: request.lastUserText)).value(for: schema)
            return budgeted([.toolUse(id: Self.toolUseID(&rng), name: tool.name, input: input)], request)
        }
        return budgeted([.text(reply.text ?? reply.json?.text ?? "")], request)
    }

    // MARK: Guardrails

    /// Converse with `guardrailConfig`: the same policy as ApplyGuardrail (blocked words
    /// and PII shapes, ``GuardrailEvaluator/findings(in:)``, of ``policy``), applied
    /// to the user's input and then to the answer. An intervention replaces the answer
    /// with the guardrail's message (`guardrail_intervened`); `trace` carries the
    /// assessment when asked for.
    private func guarded(_ request: GenerationRequest, _ guardrail: GuardrailRequest) -> GeneratedTurn? {
        let input = request.messages.filter { $0.role == .user }.map(\.textOnly).joined(separator: " ")
        let inputMatches = policy.findings(in: input)
        var outputMatches = GuardrailEvaluator.Findings()
        var unguarded = request
        unguarded.guardrail = nil
        if inputMatches.isEmpty {
            let answer = generate(unguarded)
            outputMatches = policy.findings(in: answer.text)
            if outputMatches.isEmpty {
                var passed = answer
                if guardrail.trace { passed.trace = ["guardrail": ["inputAssessment": [guardrail.identifier: [:]]]] }
                return passed
            }
        }
        let message = GuardrailEvaluator.blockedMessage
        var turn = GeneratedTurn(
            blocks: [.text(message)], stopReason: .guardrailIntervened, stopSequence: nil,
            inputTokens: request.inputTokens, outputTokens: TokenCounter.count(message))
        if guardrail.trace {
            var trace: [String: JSONValue] = [:]
            if !inputMatches.isEmpty {
                trace["inputAssessment"] = [guardrail.identifier: inputMatches.assessment]
            } else {
                trace["outputAssessments"] = [guardrail.identifier: [outputMatches.assessment]]
            }
            turn.trace = ["guardrail": JSONValue(trace)]
        }
        return turn
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
            parts.append(
                isError
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
        case .auto: return named ?? Self.bestMatch(request.tools, for: request.lastUserText)
        case .any: return named ?? Self.bestMatch(request.tools, for: request.lastUserText) ?? request.tools.first
        case .named(let name): return request.tools.first { $0.name == name }
        }
    }

    /// The tool whose name and description share the most salient words (stemmed)
    /// with the user's turn — name words count double; ties go to the first tool.
    /// With no shared word, a turn that asks to use a tool gets the first tool.
    static func bestMatch(_ tools: [ToolDefinition], for text: String) -> ToolDefinition? {
        let wanted = Set(salientWords(in: text).map { stem($0.lowercased()) })
        var best: (tool: ToolDefinition, score: Int)?
        for tool in tools {
            let nameWords = Set(salientWords(in: splitIdentifier(tool.name)).map { stem($0.lowercased()) })
            let describing = Set(salientWords(in: tool.description ?? "").map { stem($0.lowercased()) })
            let score =
                2 * wanted.intersection(nameWords).count + wanted.intersection(describing.subtracting(nameWords)).count
            if score > 0, score > (best?.score ?? 0) { best = (tool, score) }
        }
        if let best { return best.tool }
        let lowered = text.lowercased()
        let asks = ["use a tool", "use the tool", "use your tool", "call a tool", "call the tool", "use tools"]
        return asks.contains(where: lowered.contains) ? tools.first : nil
    }

    /// `get_weather` / `getWeather` → `get weather`.
    static func splitIdentifier(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for character in name {
            if character == "_" || character == "-" || character == "." {
                out.append(" ")
                previousLower = false
                continue
            }
            if character.isUppercase, previousLower { out.append(" ") }
            out.append(character)
            previousLower = character.isLowercase
        }
        return out
    }

    /// A crude English stem, so "forecasts" meets "forecast" and "cities" meets "city".
    static func stem(_ word: String) -> String {
        if word.hasSuffix("ies"), word.count > 4 { return String(word.dropLast(3)) + "y" }
        if word.hasSuffix("ing"), word.count > 5 { return String(word.dropLast(3)) }
        if word.hasSuffix("es"), word.count > 4, ["ches", "shes", "sses", "xes"].contains(where: word.hasSuffix) {
            return String(word.dropLast(2))
        }
        if word.hasSuffix("s"), !word.hasSuffix("ss"), word.count > 3 { return String(word.dropLast()) }
        return word
    }

    /// Prose shaped by the request: the user's words quoted, the system prompt and the
    /// earlier turns acknowledged, then sentences about the turn's salient words, more
    /// of them for a longer request (one more per 12 input tokens, 2 to 8), chosen by
    /// the seed. The same request (and seed) gives the same answer.
    private func fillerAnswer(_ request: GenerationRequest, _ rng: inout SeededGenerator) -> String {
        let said = Self.clip(request.lastUserText, tokens: 48)
        var sentences: [String] = [said.isEmpty ? "Hello from \(request.model.name)." : "You said: \"\(said)\"."]
        if let system = request.system.first(where: { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            sentences.append(
                "Following the instructions \"\(Self.clip(system, tokens: 24))\", I will keep to that brief.")
        }
        let userTurns = request.messages.filter { $0.role == .user }.map(\.blocks).map { blocks in
            blocks.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined(separator: " ")
        }.filter { !$0.isEmpty }
        if userTurns.count > 1, let first = userTurns.first {
            sentences.append("Earlier you told me \"\(Self.clip(first, tokens: 24))\", and I have kept it in mind.")
        }
        let topics = Self.salientWords(in: request.lastUserText)
        let count = min(8, 2 + request.inputTokens / 12)
        var frames = Self.templates
        for index in 0..<count {
            let topic = topics.isEmpty ? "this" : topics[index % topics.count]
            if frames.isEmpty { frames = Self.templates }
            let template = frames.remove(at: Int(rng.next() % UInt64(frames.count)))
            sentences.append(template.replacingOccurrences(of: "{}", with: topic))
        }
        return sentences.joined(separator: " ")
    }

    /// Sentence frames for the body of an answer; `{}` is a salient word of the turn.
    private static let templates = [
        "The short answer about {} is that it depends on what you need it for.",
        "A good place to start with {} is the part you already know.",
        "When people ask about {}, the details usually matter more than the summary.",
        "It helps to look at {} one step at a time.",
        "There is more than one way to think about {}, and each has its trade-offs.",
        "In practice, {} works best when the goal is stated plainly.",
        "I would check the assumptions behind {} before going further.",
        "The key point about {} is easy to miss on a first reading.",
        "Most of the difficulty with {} comes from the edge cases.",
        "If {} matters here, a small example will make it clearer.",
        "A careful reader would want to know where {} comes from.",
        "Put simply, {} is a question of balance.",
    ]

    /// Words of three or more letters that carry meaning (no common function words),
    /// in order of first appearance; a proper noun keeps its capital, others are
    /// lower-cased.
    static func salientWords(in text: String) -> [String] {
        var seen: Set<String> = []
        var words: [String] = []
        for word in text.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" && $0 != "_" }) {
            let lowered = word.lowercased()
            guard lowered.count >= 3, !stopWords.contains(lowered), seen.insert(lowered).inserted else { continue }
            let proper =
                word.first?.isUppercase == true && word.dropFirst().allSatisfy { !$0.isUppercase }
                && word.startIndex != text.startIndex
            words.append(proper ? String(word) : lowered)
        }
        return words
    }

    static let stopWords: Set<String> = [
        "the", "and", "for", "are", "but", "not", "you", "your", "all", "any", "can", "had", "her", "was", "one",
        "our", "out", "has", "him", "his", "how", "its", "who", "did", "get", "may", "use", "using", "what",
        "when", "where", "which", "why", "will", "with", "would", "could", "should", "this", "that", "these",
        "those", "there", "their", "then", "than", "them", "they", "from", "into", "about", "please", "tell",
        "give", "make", "some", "have", "does", "just", "like", "also", "been", "being", "were", "over", "under",
        "very", "much", "more", "most", "such", "only", "own", "same", "too", "can't", "don't", "let", "me",
        "say", "said", "hello", "there", "today", "now", "want", "need", "know", "is", "it", "a",
        "explain", "describe", "write", "show", "list", "find", "help", "thanks", "thank", "okay",
    ]

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
        return GeneratedTurn(
            blocks: blocks, stopReason: stopReason, stopSequence: stopSequence,
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
        let type =
            schema["type"]?.stringValue ?? schema["type"]?.arrayValue?.first?.stringValue
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
            return JSONValue(members)
        case "array":
            let count = max(1, schema["minItems"]?.intValue ?? 1)
            return .array(Array(repeating: value(for: schema["items"] ?? [:], depth: depth + 1), count: min(count, 8)))
        case "integer":
            return .int(schema["minimum"]?.intValue ?? 1)
        case "number":
            return .double(schema["minimum"]?.doubleValue ?? 1)
        case "boolean":
            return .bool(true)
        case "null":
            return .null
        default:
            return .string(hint)
        }
    }
}
