import Foundation

/// The start of a tool result the service produced (a system tool's), in a stream.
public struct ToolResultBlockStart: Codable, Hashable, Sendable {
    public var toolUseId: String
    public var type: String?
    /// `success` or `error`.
    public var status: String?
    public init(toolUseId: String, type: String? = nil, status: String? = nil) {
        self.toolUseId = toolUseId; self.type = type; self.status = status
    }
}

/// The start of a content block that is not plain text (text blocks start with deltas).
public enum ContentBlockStart: Codable, Hashable, Sendable {
    case toolUse(toolUseId: String, name: String)
    case toolResult(ToolResultBlockStart)
    /// An image the model generates, in `format` (`png`, `jpeg`, …).
    case image(format: String)
    case unknown(String, JSONValue)

    struct ToolUseStart: Codable { var toolUseId: String; var name: String }
    struct ImageStart: Codable { var format: String }

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "ContentBlockStart")
        switch name {
        case "toolUse":
            let v = try c.decode(ToolUseStart.self, forKey: key)
            self = .toolUse(toolUseId: v.toolUseId, name: v.name)
        case "toolResult": self = .toolResult(try c.decode(ToolResultBlockStart.self, forKey: key))
        case "image": self = .image(format: try c.decode(ImageStart.self, forKey: key).format)
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .toolUse(id, name):
            try UnionCoding.encode(ToolUseStart(toolUseId: id, name: name), as: "toolUse", to: encoder)
        case let .toolResult(v): try UnionCoding.encode(v, as: "toolResult", to: encoder)
        case let .image(format): try UnionCoding.encode(ImageStart(format: format), as: "image", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// A piece of reasoning content in a stream.
public enum ReasoningDelta: Codable, Hashable, Sendable {
    case text(String)
    case signature(String)
    case redactedContent(Data)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "reasoningContent delta")
        switch name {
        case "text": self = .text(try c.decode(String.self, forKey: key))
        case "signature": self = .signature(try c.decode(String.self, forKey: key))
        case "redactedContent": self = .redactedContent(try c.decode(Data.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .signature(v): try UnionCoding.encode(v, as: "signature", to: encoder)
        case let .redactedContent(v): try UnionCoding.encode(v, as: "redactedContent", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// A piece of a content block.
public enum ContentBlockDelta: Codable, Hashable, Sendable {
    case text(String)
    /// A fragment of the tool input's JSON text; fragments join into the whole input.
    case toolUse(input: String)
    case reasoningContent(ReasoningDelta)
    /// A citation for generated text (kept as JSON: `title`, `source`, `sourceContent`,
    /// `location`).
    case citation(JSONValue)
    /// Pieces of a tool result the service produced: each `{text}` or `{json}`.
    case toolResult([JSONValue])
    /// A generated image's bytes (`source`) or the reason it failed (`error`), kept as JSON.
    case image(JSONValue)
    case unknown(String, JSONValue)

    struct ToolUseDelta: Codable { var input: String }

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "ContentBlockDelta")
        switch name {
        case "text": self = .text(try c.decode(String.self, forKey: key))
        case "toolUse": self = .toolUse(input: try c.decode(ToolUseDelta.self, forKey: key).input)
        case "reasoningContent": self = .reasoningContent(try c.decode(ReasoningDelta.self, forKey: key))
        case "citation": self = .citation(try c.decode(JSONValue.self, forKey: key))
        case "toolResult": self = .toolResult(try c.decode([JSONValue].self, forKey: key))
        case "image": self = .image(try c.decode(JSONValue.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .toolUse(input): try UnionCoding.encode(ToolUseDelta(input: input), as: "toolUse", to: encoder)
        case let .reasoningContent(v): try UnionCoding.encode(v, as: "reasoningContent", to: encoder)
        case let .citation(v): try UnionCoding.encode(v, as: "citation", to: encoder)
        case let .toolResult(v): try UnionCoding.encode(v, as: "toolResult", to: encoder)
        case let .image(v): try UnionCoding.encode(v, as: "image", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// The `metadata` event at the end of a stream.
public struct ConverseStreamMetadata: Codable, Hashable, Sendable {
    public var usage: TokenUsage?
    public var metrics: ConverseMetrics?
    public var trace: JSONValue?
    public var performanceConfig: PerformanceConfiguration?
    public var serviceTier: ServiceTier?
    public init(usage: TokenUsage? = nil, metrics: ConverseMetrics? = nil, trace: JSONValue? = nil) {
        self.usage = usage; self.metrics = metrics; self.trace = trace
    }
}

/// One event of a ConverseStream answer. Event types this client does not know are
/// passed through as `unknown`, never dropped silently.
public enum ConverseStreamEvent: Hashable, Sendable {
    case messageStart(role: ConversationRole)
    case contentBlockStart(index: Int, start: ContentBlockStart)
    case contentBlockDelta(index: Int, delta: ContentBlockDelta)
    case contentBlockStop(index: Int)
    case messageStop(stopReason: StopReason, additionalModelResponseFields: JSONValue?)
    case metadata(ConverseStreamMetadata)
    /// An event type this client does not know: its name and payload.
    case unknown(eventType: String, payload: JSONValue)
    /// The stream failed after output and the call started again (`restart` policy):
    /// discard what was received so far. `attempt` is the new attempt's number.
    case restarted(attempt: Int, reason: String)

    private struct Start: Codable { var role: ConversationRole }
    private struct BlockStart: Codable { var contentBlockIndex: Int; var start: ContentBlockStart }
    private struct BlockDelta: Codable { var contentBlockIndex: Int; var delta: ContentBlockDelta }
    private struct BlockStop: Codable { var contentBlockIndex: Int }
    private struct Stop: Codable { var stopReason: StopReason; var additionalModelResponseFields: JSONValue? }

    /// Decodes the event `eventType` from its JSON payload (the `"p"` padding and other
    /// unknown members are ignored).
    public static func decode(eventType: String, payload: JSONValue) throws -> ConverseStreamEvent {
        let d = JSONValueDecoder()
        switch eventType {
        case "messageStart": return .messageStart(role: try d.decode(Start.self, from: payload).role)
        case "contentBlockStart":
            let v = try d.decode(BlockStart.self, from: payload)
            return .contentBlockStart(index: v.contentBlockIndex, start: v.start)
        case "contentBlockDelta":
            // The hot path of every stream: a text delta, read straight from the JSON
            // (anything else goes through the general decoder, with its error paths).
            if let index = payload["contentBlockIndex"]?.intValue, let delta = payload["delta"],
                case .object(let members) = delta, members.count == 1, members[0].0 == "text",
                case .string(let text) = members[0].1
            {
                return .contentBlockDelta(index: index, delta: .text(text))
            }
            let v = try d.decode(BlockDelta.self, from: payload)
            return .contentBlockDelta(index: v.contentBlockIndex, delta: v.delta)
        case "contentBlockStop":
            return .contentBlockStop(index: try d.decode(BlockStop.self, from: payload).contentBlockIndex)
        case "messageStop":
            let v = try d.decode(Stop.self, from: payload)
            return .messageStop(
                stopReason: v.stopReason, additionalModelResponseFields: v.additionalModelResponseFields)
        case "metadata": return .metadata(try d.decode(ConverseStreamMetadata.self, from: payload))
        default: return .unknown(eventType: eventType, payload: payload)
        }
    }
}

/// One event of an InvokeModelWithResponseStream answer.
public enum ResponseStreamEvent: Hashable, Sendable {
    /// A piece of the model's own streaming output (raw bytes, usually JSON).
    case chunk(Data)
    /// An event type this client does not know.
    case unknown(eventType: String, payload: JSONValue)
    /// The call started again after a failure (`restart` policy): discard earlier chunks.
    case restarted(attempt: Int, reason: String)

    private struct Chunk: Codable { var bytes: Data }

    /// Decodes the event `eventType` from its JSON payload.
    public static func decode(eventType: String, payload: JSONValue) throws -> ResponseStreamEvent {
        switch eventType {
        case "chunk": return .chunk(try JSONValueDecoder().decode(Chunk.self, from: payload).bytes)
        default: return .unknown(eventType: eventType, payload: payload)
        }
    }
}
