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
        return ConverseResponse(
            output: .message(message), stopReason: stopReason,
            usage: usage ?? TokenUsage(inputTokens: 0, outputTokens: 0, totalTokens: 0),
            metrics: metrics, additionalModelResponseFields: additionalModelResponseFields, trace: trace)
    }
}

/// Folds ConverseStream events into a `ConverseStreamResult`.
public struct ConverseStreamAccumulator: Sendable {
    /// What kind of block is being built; its growing text lives in `texts` (for text,
    /// citations and reasoning) or `inputs` (tool input), appended to in place: rebuilding
    /// an enum payload per delta copied the whole text each time, quadratic over long
    /// answers (200,000 deltas took seconds).
    private enum Partial: Sendable {
        case text
        case toolUse(id: String, name: String)
        case reasoning(signature: String?, redacted: Data?)
        case citations([JSONValue])
        /// A tool result the service produced; its pieces (`{text}` / `{json}`) so far.
        case toolResult(ToolResultBlockStart, parts: [JSONValue])
        /// A generated image: its format, the bytes so far, and the error, if any.
        case image(format: String, bytes: Data, error: String?)
        case other(ContentBlock)
    }

    private var blocks: [Int: Partial] = [:]
    private var texts: [Int: String] = [:]
    private var result = ConverseStreamResult()
    /// Bytes of text, tool input, reasoning and other content held so far, names, ids
    /// and unknown values included, plus `blockOverhead` per content block (what the
    /// stream's `ResponseLimits.maxStreamBytes` cap is checked against).
    public private(set) var heldBytes = 0
    /// What one content block costs beyond its strings (its entries in the tables).
    static let blockOverhead = 256

    /// Content blocks held (checked against `ResponseLimits.maxContentBlocks`).
    public var contentBlockCount: Int { blocks.count }

    public init() {}

    /// Adds one event.
    public mutating func add(_ event: ConverseStreamEvent) {
        switch event {
        case let .messageStart(role): result.role = role
        case let .contentBlockStart(index, start):
            if blocks[index] == nil { heldBytes += Self.blockOverhead }
            switch start {
            case let .toolUse(id, name):
                heldBytes += id.utf8.count + name.utf8.count
                blocks[index] = .toolUse(id: id, name: name)
                texts[index] = ""
            case let .toolResult(start):
                heldBytes +=
                    start.toolUseId.utf8.count + (start.type?.utf8.count ?? 0) + (start.status?.utf8.count ?? 0)
                blocks[index] = .toolResult(start, parts: [])
            case let .image(format):
                heldBytes += format.utf8.count
                blocks[index] = .image(format: format, bytes: Data(), error: nil)
            case let .unknown(name, value):
                heldBytes += name.utf8.count + Self.size(of: value)
                blocks[index] = .other(.unknown(name, value))
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
        case let .unknown(type, _):
            result.unknownEvents.append(type)
            heldBytes += type.utf8.count + 16
        case .restarted:
            let restarts = result.restarts + 1
            blocks = [:]
            texts = [:]
            heldBytes = 0
            result = ConverseStreamResult()
            result.restarts = restarts
        }
    }

    private mutating func apply(_ delta: ContentBlockDelta, to index: Int) {
        heldBytes += Self.size(of: delta)
        if blocks[index] == nil { heldBytes += Self.blockOverhead }
        switch (delta, blocks[index]) {
        case let (.text(t), .text?), let (.text(t), .citations?):
            texts[index, default: ""] += t
        case let (.text(t), nil):
            blocks[index] = .text
            texts[index] = t
        case let (.toolUse(piece), .toolUse?):
            texts[index, default: ""] += piece
        case let (.reasoningContent(r), existing):
            var (signature, redacted): (String?, Data?) = (nil, nil)
            if case let .reasoning(s, d)? = existing {
                (signature, redacted) = (s, d)
            } else {
                texts[index] = ""
            }
            switch r {
            case let .text(t): texts[index, default: ""] += t
            case let .signature(s): signature = (signature ?? "") + s
            case let .redactedContent(d): redacted = (redacted ?? Data()) + d
            case .unknown: break
            }
            blocks[index] = .reasoning(signature: signature, redacted: redacted)
        case let (.citation(c), .text?): blocks[index] = .citations([c])
        case let (.citation(c), .citations(cs)?): blocks[index] = .citations(cs + [c])
        case let (.citation(c), nil):
            blocks[index] = .citations([c])
            texts[index] = ""
        case let (.toolResult(pieces), .toolResult(start, parts)?):
            blocks[index] = .toolResult(start, parts: parts + pieces)
        case let (.image(piece), .image(format, bytes, error)?):
            let more = piece["source"]?["bytes"]?.stringValue.flatMap { Data(base64Encoded: $0) } ?? Data()
            blocks[index] = .image(
                format: format, bytes: bytes + more, error: piece["error"]?["message"]?.stringValue ?? error)
        default: break
        }
    }

    /// Roughly the bytes a delta adds to the result (exact for text and tool input).
    private static func size(of delta: ContentBlockDelta) -> Int {
        switch delta {
        case let .text(t): return t.utf8.count
        case let .toolUse(piece): return piece.utf8.count
        case let .reasoningContent(r):
            switch r {
            case let .text(t): return t.utf8.count
            case let .signature(s): return s.utf8.count
            case let .redactedContent(d): return d.count
            case let .unknown(name, value): return name.utf8.count + size(of: value)
            }
        case let .citation(c): return size(of: c)
        case let .toolResult(pieces): return pieces.reduce(0) { $0 + size(of: $1) }
        case let .image(piece): return size(of: piece)
        case let .unknown(name, value): return name.utf8.count + size(of: value)
        }
    }

    /// Roughly the bytes a JSON value takes in memory (its strings, plus 16 per value).
    static func size(of value: JSONValue) -> Int {
        switch value {
        case .null, .bool, .integer, .double: return 16
        case let .string(s): return 16 + s.utf8.count
        case let .array(items): return items.reduce(16) { $0 + size(of: $1) }
        case let .object(members): return members.reduce(16) { $0 + 16 + $1.0.utf8.count + size(of: $1.1) }
        }
    }

    /// The result so far (complete once `messageStop` has arrived).
    public var current: ConverseStreamResult {
        var r = result
        r.content = blocks.keys.sorted().compactMap { index in
            guard let block = blocks[index] else { return nil }
            let text = texts[index] ?? ""
            switch block {
            case .text: return .text(text)
            case let .toolUse(id, name):
                let input = text
                let parsed: JSONValue
                if input.isEmpty {
                    parsed = .object([])
                } else if JSONStructure.holdsAtMost(ResponseLimits.defaultMaxJSONValues, valuesIn: input.utf8),
                    let v = try? JSONParser.parse(input)
                {
                    parsed = v
                } else {
                    r.malformedToolInputs[id] = input
                    parsed = .string(input)
                }
                return .toolUse(ToolUseBlock(toolUseId: id, name: name, input: parsed))
            case let .reasoning(signature, redacted):
                if let redacted, text.isEmpty { return .reasoningContent(.redactedContent(redacted)) }
                return .reasoningContent(.reasoningText(ReasoningText(text: text, signature: signature)))
            case let .citations(citations):
                let typed = citations.compactMap { try? JSONValueDecoder().decode(Citation.self, from: $0) }
                return .citationsContent(
                    CitationsContentBlock(content: [DocumentContent(text: text)], citations: typed))
            case let .toolResult(start, parts):
                let content: [ToolResultContent] = parts.compactMap { part in
                    if let text = part["text"]?.stringValue { return .text(text) }
                    if let json = part["json"] { return .json(json) }
                    return nil
                }
                return .toolResult(ToolResultBlock(toolUseId: start.toolUseId, content: content, status: start.status))
            case let .image(format, bytes, error):
                if let error {
                    return .unknown("image", ["format": .string(format), "error": ["message": .string(error)]])
                }
                return .image(ImageBlock(format: format, source: .bytes(bytes)))
            case let .other(b): return b
            }
        }
        return r
    }
}
