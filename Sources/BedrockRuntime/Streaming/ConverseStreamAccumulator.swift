import Foundation

/// What a ConverseStream produced, gathered into one value: the same shape
/// `converse` returns (text, tool uses with parsed input, usage, stop reason), plus
/// whether the stream completed and how many times it was restarted.
public struct ConverseStreamResult: Sendable, Hashable {
    public var role: ConversationRole = .assistant
    /// Content blocks by index, in order.
    public var content: [ContentBlock] = []
    public var stopReason: StopReason?
    public var usage: TokenUsage?
    public var metrics: ConverseMetrics?
    public var trace: JSONValue?
    public var additionalModelResponseFields: JSONValue?
    /// Whether `messageStop` arrived.
    public var isComplete: Bool { stopReason != nil }
    /// How many times the call was restarted (`restart` policy).
    public var restarts = 0
    /// Unknown events seen (type names), in order.
    public var unknownEvents: [String] = []
    /// Tool-use blocks whose input was not valid JSON, with the raw text.
    public var malformedToolInputs: [String: String] = [:]

    public init() {}

    /// The message the stream built.
    public var message: Message { Message(role: role, content: content) }
    /// All text joined.
    public var text: String { content.compactMap(\.text).joined() }
    /// The tool calls with their parsed input.
    public var toolUses: [ToolUseBlock] { content.compactMap(\.toolUse) }

    /// The equivalent `converse` answer, when the stream completed.
    public var response: ConverseResponse? {
        guard let stopReason else { return nil }
        return ConverseResponse(output: .message(message), stopReason: stopReason,
                                usage: usage ?? TokenUsage(inputTokens: 0, outputTokens: 0, totalTokens: 0),
                                metrics: metrics, additionalModelResponseFields: additionalModelResponseFields, trace: trace)
    }
}

/// Folds ConverseStream events into a `ConverseStreamResult`.
public struct ConverseStreamAccumulator: Sendable {
    private enum Partial: Sendable {
        case text(String)
        case toolUse(id: String, name: String, input: String)
        case reasoning(text: String, signature: String?, redacted: Data?)
        case citations(text: String, citations: [JSONValue])
        case other(ContentBlock)
    }

    private var blocks: [Int: Partial] = [:]
    private var result = ConverseStreamResult()

    public init() {}

    /// Adds one event.
    public mutating func add(_ event: ConverseStreamEvent) {
        switch event {
        case let .messageStart(role): result.role = role
        case let .contentBlockStart(index, start):
            switch start {
            case let .toolUse(id, name): blocks[index] = .toolUse(id: id, name: name, input: "")
            case let .unknown(name, value): blocks[index] = .other(.unknown(name, value))
            }
        case let .contentBlockDelta(index, delta):
            apply(delta, to: index)
        case .contentBlockStop: break
        case let .messageStop(reason, fields):
            result.stopReason = reason
            result.additionalModelResponseFields = fields
        case let .metadata(m):
            result.usage = m.usage ?? result.usage
            result.metrics = m.metrics ?? result.metrics
            result.trace = m.trace ?? result.trace
        case let .unknown(type, _): result.unknownEvents.append(type)
        case .restarted:
            let restarts = result.restarts + 1
            blocks = [:]
            result = ConverseStreamResult()
            result.restarts = restarts
        }
    }

    // Each block is taken out of the dictionary, released there, and appended to in
    // place: `blocks[i] = .text(s + t)` copied the whole text per delta, quadratic over
    // a long answer (200,000 deltas took seconds).
    private mutating func apply(_ delta: ContentBlockDelta, to index: Int) {
        var partial = blocks.removeValue(forKey: index)
        switch delta {
        case let .text(t):
            switch partial {
            case var .text(s)?:
                partial = nil
                s += t
                blocks[index] = .text(s)
            case .citations(var s, let c)?:
                partial = nil
                s += t
                blocks[index] = .citations(text: s, citations: c)
            case nil:
                blocks[index] = .text(t)
            case let other?:
                blocks[index] = other
            }
        case let .toolUse(piece):
            if case .toolUse(let id, let name, var input)? = partial {
                partial = nil
                input += piece
                blocks[index] = .toolUse(id: id, name: name, input: input)
            } else if let other = partial {
                blocks[index] = other
            }
        case let .reasoningContent(r):
            var (text, signature, redacted): (String, String?, Data?) = ("", nil, nil)
            if case let .reasoning(t, s, d)? = partial {
                (text, signature, redacted) = (t, s, d)
                partial = nil
            }
            switch r {
            case let .text(t): text += t
            case let .signature(s): signature = (signature ?? "") + s
            case let .redactedContent(d): redacted = (redacted ?? Data()) + d
            case .unknown: break
            }
            blocks[index] = .reasoning(text: text, signature: signature, redacted: redacted)
        case let .citation(c):
            switch partial {
            case let .text(s)?: blocks[index] = .citations(text: s, citations: [c])
            case .citations(let s, var cs)?:
                partial = nil
                cs.append(c)
                blocks[index] = .citations(text: s, citations: cs)
            case nil: blocks[index] = .citations(text: "", citations: [c])
            case let other?: blocks[index] = other
            }
        default:
            if let partial { blocks[index] = partial }
        }
    }

    /// The result so far (complete once `messageStop` has arrived).
    public var current: ConverseStreamResult {
        var r = result
        r.content = blocks.keys.sorted().compactMap { index in
            guard let block = blocks[index] else { return nil }
            switch block {
            case let .text(t): return .text(t)
            case let .toolUse(id, name, input):
                let parsed: JSONValue
                if input.isEmpty {
                    parsed = .object([])
                } else if let v = try? JSONParser.parse(input) {
                    parsed = v
                } else {
                    r.malformedToolInputs[id] = input
                    parsed = .string(input)
                }
                return .toolUse(ToolUseBlock(toolUseId: id, name: name, input: parsed))
            case let .reasoning(text, signature, redacted):
                if let redacted, text.isEmpty { return .reasoningContent(.redactedContent(redacted)) }
                return .reasoningContent(.reasoningText(ReasoningText(text: text, signature: signature)))
            case let .citations(text, citations):
                let typed = citations.compactMap { try? JSONValueDecoder().decode(Citation.self, from: $0) }
                return .citationsContent(CitationsContentBlock(content: [DocumentContent(text: text)], citations: typed))
            case let .other(b): return b
            }
        }
        return r
    }
}
