import Foundation

/// Who wrote a message.
public struct ConversationRole: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let user: Self = "user"
    public static let assistant: Self = "assistant"
    /// A message that changes the tool set (`toolAddition` / `toolRemoval`) mid-conversation.
    public static let system: Self = "system"
}

/// A message in a conversation: a role and its content blocks.
public struct Message: Codable, Hashable, Sendable {
    public var role: ConversationRole
    public var content: [ContentBlock]
    public init(role: ConversationRole, content: [ContentBlock]) {
        self.role = role
        self.content = content
    }
    /// A user message with one text block.
    public static func user(_ text: String) -> Message { Message(role: .user, content: [.text(text)]) }
    /// An assistant message with one text block.
    public static func assistant(_ text: String) -> Message { Message(role: .assistant, content: [.text(text)]) }
}

/// Where the service reads a large input from.
public struct S3Location: Codable, Hashable, Sendable {
    public var uri: String
    public var bucketOwner: String?
    public init(uri: String, bucketOwner: String? = nil) { self.uri = uri; self.bucketOwner = bucketOwner }
}

/// The bytes of an image, document or video, inline or in S3.
public enum MediaSource: Codable, Hashable, Sendable {
    case bytes(Data)
    case s3Location(S3Location)
    /// Document text given directly (documents only).
    case text(String)
    /// Document content blocks (documents only).
    case content([DocumentContent])
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "source")
        switch name {
        case "bytes": self = .bytes(try c.decode(Data.self, forKey: key))
        case "s3Location": self = .s3Location(try c.decode(S3Location.self, forKey: key))
        case "text": self = .text(try c.decode(String.self, forKey: key))
        case "content": self = .content(try c.decode([DocumentContent].self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .bytes(d): try UnionCoding.encode(d, as: "bytes", to: encoder)
        case let .s3Location(l): try UnionCoding.encode(l, as: "s3Location", to: encoder)
        case let .text(t): try UnionCoding.encode(t, as: "text", to: encoder)
        case let .content(c): try UnionCoding.encode(c, as: "content", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// A block of document content (`{"text": ...}`).
public struct DocumentContent: Codable, Hashable, Sendable {
    public var text: String?
    public init(text: String) { self.text = text }
}

/// An image: format (`png`, `jpeg`, `gif`, `webp`) and source.
public struct ImageBlock: Codable, Hashable, Sendable {
    public var format: String
    public var source: MediaSource
    public init(format: String, source: MediaSource) { self.format = format; self.source = source }
}

/// Whether citations are produced for a document.
public struct CitationsConfig: Codable, Hashable, Sendable {
    public var enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }
}

/// A document: format (`pdf`, `txt`, `md`, ...), name, source, optional context.
public struct DocumentBlock: Codable, Hashable, Sendable {
    public var format: String?
    public var name: String
    public var source: MediaSource
    public var context: String?
    public var citations: CitationsConfig?
    public init(
        format: String? = nil, name: String, source: MediaSource, context: String? = nil,
        citations: CitationsConfig? = nil
    ) {
        self.format = format; self.name = name; self.source = source; self.context = context; self.citations = citations
    }
}

/// A video: format (`mp4`, `mov`, ...) and source.
public struct VideoBlock: Codable, Hashable, Sendable {
    public var format: String
    public var source: MediaSource
    public init(format: String, source: MediaSource) { self.format = format; self.source = source }
}

/// Audio given to the model (`format` such as `mp3`, `wav`, `pcm`).
public struct AudioBlock: Codable, Hashable, Sendable {
    public var format: String
    public var source: MediaSource
    /// Set by the service when it could not use the audio.
    public var error: ErrorBlock?
    public init(format: String, source: MediaSource, error: ErrorBlock? = nil) {
        self.format = format; self.source = source; self.error = error
    }
}

/// Why the service could not use a block.
public struct ErrorBlock: Codable, Hashable, Sendable {
    public var message: String?
    public init(message: String? = nil) { self.message = message }
}

/// One passage of a search result.
public struct SearchResultContentBlock: Codable, Hashable, Sendable {
    public var text: String
    public init(text: String) { self.text = text }
}

/// A search result the model should ground its answer in (and may cite).
public struct SearchResultBlock: Codable, Hashable, Sendable {
    public var source: String
    public var title: String
    public var content: [SearchResultContentBlock]
    public var citations: CitationsConfig?
    public init(source: String, title: String, content: [SearchResultContentBlock], citations: CitationsConfig? = nil) {
        self.source = source; self.title = title; self.content = content; self.citations = citations
    }
}

/// A tool named by a `toolAddition` / `toolRemoval` block: one declared in `toolConfig`
/// (`serverName` for a tool an MCP server provides).
public struct ToolReference: Codable, Hashable, Sendable {
    public var type: String?
    public var name: String?
    public var serverName: String?
    public init(type: String? = nil, name: String? = nil, serverName: String? = nil) {
        self.type = type; self.name = name; self.serverName = serverName
    }
}

/// Adds (or, as `toolRemoval`, removes) one tool of the tool set mid-conversation, in a
/// `system`-role message.
public struct ToolChangeBlock: Codable, Hashable, Sendable {
    public var tool: ToolReference
    public init(tool: ToolReference) { self.tool = tool }
}

/// A tool call made by the model; `input` is the JSON the model produced.
public struct ToolUseBlock: Codable, Hashable, Sendable {
    public var toolUseId: String
    public var name: String
    public var input: JSONValue
    public init(toolUseId: String, name: String, input: JSONValue) {
        self.toolUseId = toolUseId; self.name = name; self.input = input
    }
}

/// Content of a tool result.
public enum ToolResultContent: Codable, Hashable, Sendable {
    case json(JSONValue)
    case text(String)
    case image(ImageBlock)
    case document(DocumentBlock)
    case video(VideoBlock)
    case searchResult(SearchResultBlock)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "toolResult content")
        switch name {
        case "json": self = .json(try c.decode(JSONValue.self, forKey: key))
        case "text": self = .text(try c.decode(String.self, forKey: key))
        case "image": self = .image(try c.decode(ImageBlock.self, forKey: key))
        case "document": self = .document(try c.decode(DocumentBlock.self, forKey: key))
        case "video": self = .video(try c.decode(VideoBlock.self, forKey: key))
        case "searchResult": self = .searchResult(try c.decode(SearchResultBlock.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .json(v): try UnionCoding.encode(v, as: "json", to: encoder)
        case let .searchResult(v): try UnionCoding.encode(v, as: "searchResult", to: encoder)
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .image(v): try UnionCoding.encode(v, as: "image", to: encoder)
        case let .document(v): try UnionCoding.encode(v, as: "document", to: encoder)
        case let .video(v): try UnionCoding.encode(v, as: "video", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// The result of a tool call, sent back to the model in a user turn.
public struct ToolResultBlock: Codable, Hashable, Sendable {
    public var toolUseId: String
    public var content: [ToolResultContent]
    /// `success` or `error`.
    public var status: String?
    public init(toolUseId: String, content: [ToolResultContent], status: String? = nil) {
        self.toolUseId = toolUseId; self.content = content; self.status = status
    }
}

/// Text a guardrail evaluates, with optional qualifiers (`grounding_source`, `query`, `guard_content`).
public struct GuardrailTextBlock: Codable, Hashable, Sendable {
    public var text: String
    public var qualifiers: [String]?
    public init(text: String, qualifiers: [String]? = nil) { self.text = text; self.qualifiers = qualifiers }
}

/// Content a guardrail evaluates.
public enum GuardrailContent: Codable, Hashable, Sendable {
    case text(GuardrailTextBlock)
    case image(ImageBlock)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "guardContent")
        switch name {
        case "text": self = .text(try c.decode(GuardrailTextBlock.self, forKey: key))
        case "image": self = .image(try c.decode(ImageBlock.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .image(v): try UnionCoding.encode(v, as: "image", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// A prompt-cache checkpoint (`{"type": "default"}`).
public struct CachePointBlock: Codable, Hashable, Sendable {
    public var type: String
    /// How long the cached prefix lives: `5m` (the default) or `1h`.
    public var ttl: String?
    public init(type: String = "default", ttl: String? = nil) { self.type = type; self.ttl = ttl }
}

/// The model's reasoning text and the signature that proves it was not altered.
public struct ReasoningText: Codable, Hashable, Sendable {
    public var text: String
    public var signature: String?
    public init(text: String, signature: String? = nil) { self.text = text; self.signature = signature }
}

/// Reasoning content: readable text, or content the service redacted.
public enum ReasoningContent: Codable, Hashable, Sendable {
    case reasoningText(ReasoningText)
    case redactedContent(Data)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "reasoningContent")
        switch name {
        case "reasoningText": self = .reasoningText(try c.decode(ReasoningText.self, forKey: key))
        case "redactedContent": self = .redactedContent(try c.decode(Data.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .reasoningText(v): try UnionCoding.encode(v, as: "reasoningText", to: encoder)
        case let .redactedContent(v): try UnionCoding.encode(v, as: "redactedContent", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// A citation: which source passage supports generated text.
public struct Citation: Codable, Hashable, Sendable {
    public var title: String?
    public var sourceContent: [DocumentContent]?
    /// Where in the source (document char/page/chunk location); kept as JSON.
    public var location: JSONValue?
    public init(title: String? = nil, sourceContent: [DocumentContent]? = nil, location: JSONValue? = nil) {
        self.title = title; self.sourceContent = sourceContent; self.location = location
    }
}

/// Generated text together with its citations.
public struct CitationsContentBlock: Codable, Hashable, Sendable {
    public var content: [DocumentContent]?
    public var citations: [Citation]?
    public init(content: [DocumentContent]? = nil, citations: [Citation]? = nil) {
        self.content = content; self.citations = citations
    }
}

/// One block of message content. Members the client does not know decode as `unknown`.
public enum ContentBlock: Codable, Hashable, Sendable {
    case text(String)
    case image(ImageBlock)
    case document(DocumentBlock)
    case video(VideoBlock)
    case toolUse(ToolUseBlock)
    case toolResult(ToolResultBlock)
    case guardContent(GuardrailContent)
    case cachePoint(CachePointBlock)
    case reasoningContent(ReasoningContent)
    case citationsContent(CitationsContentBlock)
    case audio(AudioBlock)
    case searchResult(SearchResultBlock)
    /// In a `system`-role message: offer a declared tool again.
    case toolAddition(ToolChangeBlock)
    /// In a `system`-role message: stop offering a declared tool.
    case toolRemoval(ToolChangeBlock)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "ContentBlock")
        switch name {
        case "text": self = .text(try c.decode(String.self, forKey: key))
        case "image": self = .image(try c.decode(ImageBlock.self, forKey: key))
        case "document": self = .document(try c.decode(DocumentBlock.self, forKey: key))
        case "video": self = .video(try c.decode(VideoBlock.self, forKey: key))
        case "toolUse": self = .toolUse(try c.decode(ToolUseBlock.self, forKey: key))
        case "toolResult": self = .toolResult(try c.decode(ToolResultBlock.self, forKey: key))
        case "guardContent": self = .guardContent(try c.decode(GuardrailContent.self, forKey: key))
        case "cachePoint": self = .cachePoint(try c.decode(CachePointBlock.self, forKey: key))
        case "reasoningContent": self = .reasoningContent(try c.decode(ReasoningContent.self, forKey: key))
        case "citationsContent": self = .citationsContent(try c.decode(CitationsContentBlock.self, forKey: key))
        case "audio": self = .audio(try c.decode(AudioBlock.self, forKey: key))
        case "searchResult": self = .searchResult(try c.decode(SearchResultBlock.self, forKey: key))
        case "toolAddition": self = .toolAddition(try c.decode(ToolChangeBlock.self, forKey: key))
        case "toolRemoval": self = .toolRemoval(try c.decode(ToolChangeBlock.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .image(v): try UnionCoding.encode(v, as: "image", to: encoder)
        case let .document(v): try UnionCoding.encode(v, as: "document", to: encoder)
        case let .video(v): try UnionCoding.encode(v, as: "video", to: encoder)
        case let .toolUse(v): try UnionCoding.encode(v, as: "toolUse", to: encoder)
        case let .toolResult(v): try UnionCoding.encode(v, as: "toolResult", to: encoder)
        case let .guardContent(v): try UnionCoding.encode(v, as: "guardContent", to: encoder)
        case let .cachePoint(v): try UnionCoding.encode(v, as: "cachePoint", to: encoder)
        case let .reasoningContent(v): try UnionCoding.encode(v, as: "reasoningContent", to: encoder)
        case let .citationsContent(v): try UnionCoding.encode(v, as: "citationsContent", to: encoder)
        case let .audio(v): try UnionCoding.encode(v, as: "audio", to: encoder)
        case let .searchResult(v): try UnionCoding.encode(v, as: "searchResult", to: encoder)
        case let .toolAddition(v): try UnionCoding.encode(v, as: "toolAddition", to: encoder)
        case let .toolRemoval(v): try UnionCoding.encode(v, as: "toolRemoval", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }

    /// The text, when this is a text block.
    public var text: String? { if case let .text(t) = self { t } else { nil } }
    /// The tool call, when this is a toolUse block.
    public var toolUse: ToolUseBlock? { if case let .toolUse(t) = self { t } else { nil } }
}

/// A block of the system prompt.
public enum SystemContentBlock: Codable, Hashable, Sendable {
    case text(String)
    case guardContent(GuardrailContent)
    case cachePoint(CachePointBlock)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "SystemContentBlock")
        switch name {
        case "text": self = .text(try c.decode(String.self, forKey: key))
        case "guardContent": self = .guardContent(try c.decode(GuardrailContent.self, forKey: key))
        case "cachePoint": self = .cachePoint(try c.decode(CachePointBlock.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .guardContent(v): try UnionCoding.encode(v, as: "guardContent", to: encoder)
        case let .cachePoint(v): try UnionCoding.encode(v, as: "cachePoint", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}
