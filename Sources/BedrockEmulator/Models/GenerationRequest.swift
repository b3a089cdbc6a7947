import BedrockWire

/// A speaker in a conversation.
enum ConversationRole: String, Sendable {
    case user, assistant
}

/// One content block of an input message, in a form every family's format maps to.
enum InputBlock: Sendable, Equatable {
    case text(String)
    case toolUse(id: String, name: String, input: JSONValue)
    case toolResult(id: String, text: String, isError: Bool)
    /// An image, document, video or audio block: counted as a fixed number of tokens.
    case media(kind: String)
    case reasoning(String)
}

/// One turn of the conversation.
struct ConversationMessage: Sendable, Equatable {
    var role: ConversationRole
    var blocks: [InputBlock]
}

extension ConversationMessage {
    /// The message's text blocks joined by spaces.
    var textOnly: String {
        blocks.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined(separator: " ")
    }
}

/// A tool the model may call.
struct ToolDefinition: Sendable, Equatable {
    var name: String
    var description: String?
    var schema: JSONValue
}

/// How the request lets the model choose tools.
enum ToolSelection: Sendable, Equatable {
    case auto
    case any
    case named(String)
    case none
}

/// What a model is asked to do, independent of the wire format it came in.
struct GenerationRequest: Sendable {
    var model: ModelDescriptor
    var system: [String] = []
    var messages: [ConversationMessage] = []
    var tools: [ToolDefinition] = []
    var toolSelection: ToolSelection = .auto
    var maxTokens: Int
    var temperature: Double?
    var topP: Double?
    var stopSequences: [String] = []
    var seed: UInt64?
    /// Token budget for reasoning, when reasoning was asked for.
    var reasoningBudget: Int?
    /// Structured output: the JSON schema the answer's text must satisfy.
    var outputSchema: JSONValue?
    /// `outputConfig.effort` (`low` … `max`): accepted and checked; the emulated model's
    /// answer does not depend on it.
    var effort: String?
    /// `systemTool` names in `toolConfig` (tools the service runs itself): accepted,
    /// never called by the emulated model.
    var systemTools: [String] = []
    /// Citations the answer gives: one per `searchResult` block with citations enabled.
    var citations: [JSONValue] = []
    /// `guardrailConfig`: the guardrail to apply to the input and the answer.
    var guardrail: GuardrailRequest?
    /// The prefix up to the last `cachePoint`, when the request has one.
    var cachePrefix: CachePrefix?

    /// Tokens an image, document, video or audio block counts as.
    static let mediaTokens = 85

    /// The input token count: the same number CountTokens reports and usage carries.
    var inputTokens: Int {
        var total = system.reduce(0) { $0 + TokenCounter.count($1) }
        for message in messages {
            for block in message.blocks {
                switch block {
                case .text(let text), .reasoning(let text): total += TokenCounter.count(text)
                case .toolUse(_, let name, let input):
                    total += TokenCounter.count(name) + TokenCounter.count(input.text)
                case .toolResult(_, let text, _): total += TokenCounter.count(text)
                case .media: total += Self.mediaTokens
                }
            }
        }
        for tool in tools {
            total +=
                TokenCounter.count(tool.name) + TokenCounter.count(tool.description ?? "")
                + TokenCounter.count(tool.schema.text)
        }
        return total
    }

    /// The text of the last user turn (its text blocks joined by spaces).
    var lastUserText: String {
        guard let last = messages.last(where: { $0.role == .user }) else { return "" }
        return last.blocks.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined(separator: " ")
    }
}

/// A block of the model's answer.
enum OutputBlock: Sendable, Equatable {
    case reasoning(text: String, signature: String)
    case text(String)
    case toolUse(id: String, name: String, input: JSONValue)
}

/// Why the model stopped, as Converse names it.
enum StopReason: String, Sendable {
    case endTurn = "end_turn"
    case toolUse = "tool_use"
    case maxTokens = "max_tokens"
    case stopSequence = "stop_sequence"
    case guardrailIntervened = "guardrail_intervened"
}

/// A Converse `guardrailConfig`.
struct GuardrailRequest: Sendable, Equatable {
    var identifier: String
    var version: String
    /// `enabled` / `enabled_full` ask for the assessment in `trace`.
    var trace: Bool
}

/// The model's answer and its accounting.
struct GeneratedTurn: Sendable {
    var blocks: [OutputBlock]
    var stopReason: StopReason
    /// The stop sequence that ended the answer, if one did.
    var stopSequence: String?
    var inputTokens: Int
    var outputTokens: Int
    /// The guardrail trace (`{"guardrail": …}`), when the request asked for one.
    var trace: JSONValue? = nil
    /// Prompt caching: input tokens read from / written to the cache (then not part
    /// of `inputTokens`, as on the service).
    var cacheReadInputTokens: Int? = nil
    var cacheWriteInputTokens: Int? = nil
    /// The time to live of the cache point written (`5m` or `1h`), for `cacheDetails`.
    var cacheTTL: String? = nil
    /// Citations for the first text block (Converse `citationsContent`, stream
    /// `citation` deltas); empty when the answer cites nothing.
    var citations: [JSONValue] = []

    var totalTokens: Int { inputTokens + outputTokens + (cacheReadInputTokens ?? 0) + (cacheWriteInputTokens ?? 0) }

    /// Moves the cached prefix's tokens out of `inputTokens`, as a read or a write.
    mutating func applyCache(prefixTokens: Int, read: Bool) {
        let tokens = min(prefixTokens, inputTokens)
        guard tokens > 0 else { return }
        inputTokens -= tokens
        if read {
            cacheReadInputTokens = tokens; cacheWriteInputTokens = 0
        } else {
            cacheWriteInputTokens = tokens; cacheReadInputTokens = 0
        }
    }

    /// All text blocks joined.
    var text: String {
        blocks.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
    }
}
