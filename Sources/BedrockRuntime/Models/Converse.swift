import Foundation

/// Generation limits and sampling parameters.
public struct InferenceConfiguration: Codable, Hashable, Sendable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var stopSequences: [String]?
    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, stopSequences: [String]? = nil)
    {
        self.maxTokens = maxTokens; self.temperature = temperature; self.topP = topP; self.stopSequences = stopSequences
    }
}

/// A tool's JSON schema (`{"json": {...}}`).
public struct ToolInputSchema: Codable, Hashable, Sendable {
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }
}

/// A tool the model may call.
public struct ToolSpecification: Codable, Hashable, Sendable {
    public var name: String
    public var description: String?
    public var inputSchema: ToolInputSchema
    public init(name: String, description: String? = nil, inputSchema: ToolInputSchema) {
        self.name = name; self.description = description; self.inputSchema = inputSchema
    }
}

/// A tool the service itself runs (e.g. grounding), named in `toolConfig.tools`.
public struct SystemTool: Codable, Hashable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// An entry of `toolConfig.tools`.
public enum Tool: Codable, Hashable, Sendable {
    case toolSpec(ToolSpecification)
    case systemTool(SystemTool)
    case cachePoint(CachePointBlock)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "Tool")
        switch name {
        case "toolSpec": self = .toolSpec(try c.decode(ToolSpecification.self, forKey: key))
        case "cachePoint": self = .cachePoint(try c.decode(CachePointBlock.self, forKey: key))
        case "systemTool": self = .systemTool(try c.decode(SystemTool.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .toolSpec(v): try UnionCoding.encode(v, as: "toolSpec", to: encoder)
        case let .systemTool(v): try UnionCoding.encode(v, as: "systemTool", to: encoder)
        case let .cachePoint(v): try UnionCoding.encode(v, as: "cachePoint", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// How the model chooses tools: `auto`, `any`, or one named tool.
public enum ToolChoice: Codable, Hashable, Sendable {
    case auto
    case any
    case tool(name: String)
    case unknown(String, JSONValue)

    struct Named: Codable { var name: String }

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "ToolChoice")
        switch name {
        case "auto": self = .auto
        case "any": self = .any
        case "tool": self = .tool(name: try c.decode(Named.self, forKey: key).name)
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .auto: try UnionCoding.encode(EmptyObject(), as: "auto", to: encoder)
        case .any: try UnionCoding.encode(EmptyObject(), as: "any", to: encoder)
        case let .tool(name): try UnionCoding.encode(Named(name: name), as: "tool", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// Tools offered to the model and how it may choose among them.
public struct ToolConfiguration: Codable, Hashable, Sendable {
    public var tools: [Tool]
    public var toolChoice: ToolChoice?
    public init(tools: [Tool], toolChoice: ToolChoice? = nil) { self.tools = tools; self.toolChoice = toolChoice }
}

/// A guardrail applied to a Converse call.
public struct GuardrailConfiguration: Codable, Hashable, Sendable {
    public var guardrailIdentifier: String
    public var guardrailVersion: String
    /// `enabled`, `disabled` or `enabled_full`.
    public var trace: String?
    /// For streams: `sync` or `async`.
    public var streamProcessingMode: String?
    public init(
        guardrailIdentifier: String, guardrailVersion: String, trace: String? = nil, streamProcessingMode: String? = nil
    ) {
        self.guardrailIdentifier = guardrailIdentifier; self.guardrailVersion = guardrailVersion
        self.trace = trace; self.streamProcessingMode = streamProcessingMode
    }
}

/// A value for a prompt-management variable (`{"text": ...}`).
public struct PromptVariableValue: Codable, Hashable, Sendable {
    public var text: String
    public init(text: String) { self.text = text }
}

/// Latency preference (`standard` or `optimized`).
public struct PerformanceConfiguration: Codable, Hashable, Sendable {
    public var latency: String
    public init(latency: String) { self.latency = latency }
}

/// The service tier (`priority`, `default`, `flex`).
public struct ServiceTier: Codable, Hashable, Sendable {
    public var type: String
    public init(type: String) { self.type = type }
}

/// The input of `Converse` and `ConverseStream`.
///
/// Members are declared in the service model's order, which is the order botocore
/// writes them; the body is signed, so the order is part of wire fidelity.
public struct ConverseRequest: Codable, Hashable, Sendable {
    /// A model id, inference profile id, or ARN (goes in the path).
    public var modelId: String
    public var messages: [Message]?
    public var system: [SystemContentBlock]?
    public var inferenceConfig: InferenceConfiguration?
    public var toolConfig: ToolConfiguration?
    public var guardrailConfig: GuardrailConfiguration?
    /// Model-specific fields, passed through as JSON.
    public var additionalModelRequestFields: JSONValue?
    public var promptVariables: [String: PromptVariableValue]?
    public var additionalModelResponseFieldPaths: [String]?
    public var requestMetadata: [String: String]?
    public var performanceConfig: PerformanceConfiguration?
    public var serviceTier: ServiceTier?
    /// Structured output (`textFormat`) and reasoning effort.
    public var outputConfig: OutputConfig?

    public init(
        modelId: String, messages: [Message]? = nil, system: [SystemContentBlock]? = nil,
        inferenceConfig: InferenceConfiguration? = nil, toolConfig: ToolConfiguration? = nil,
        guardrailConfig: GuardrailConfiguration? = nil, additionalModelRequestFields: JSONValue? = nil,
        promptVariables: [String: PromptVariableValue]? = nil, additionalModelResponseFieldPaths: [String]? = nil,
        requestMetadata: [String: String]? = nil, performanceConfig: PerformanceConfiguration? = nil,
        serviceTier: ServiceTier? = nil, outputConfig: OutputConfig? = nil
    ) {
        self.modelId = modelId; self.messages = messages; self.system = system
        self.inferenceConfig = inferenceConfig; self.toolConfig = toolConfig; self.guardrailConfig = guardrailConfig
        self.additionalModelRequestFields = additionalModelRequestFields; self.promptVariables = promptVariables
        self.additionalModelResponseFieldPaths = additionalModelResponseFieldPaths;
        self.requestMetadata = requestMetadata
        self.performanceConfig = performanceConfig; self.serviceTier = serviceTier; self.outputConfig = outputConfig
    }
}

/// Converse's `outputConfig`: the format the text must take, and reasoning effort.
public struct OutputConfig: Codable, Hashable, Sendable {
    public var textFormat: OutputFormat?
    public var effort: String?
    public init(textFormat: OutputFormat? = nil, effort: String? = nil) {
        self.textFormat = textFormat; self.effort = effort
    }
}

/// A structured-output format: today only `JSON_SCHEMA`.
public struct OutputFormat: Codable, Hashable, Sendable {
    public var type: String
    public var structure: OutputFormatStructure
    public init(type: String = "JSON_SCHEMA", structure: OutputFormatStructure) {
        self.type = type; self.structure = structure
    }
    /// A `JSON_SCHEMA` format for `schema` (JSON text).
    public static func jsonSchema(_ schema: String, name: String? = nil, description: String? = nil) -> OutputFormat {
        OutputFormat(
            structure: OutputFormatStructure(
                jsonSchema: JsonSchemaDefinition(schema: schema, name: name, description: description)))
    }
}

/// The union holding a structured-output definition (one member, `jsonSchema`).
public struct OutputFormatStructure: Codable, Hashable, Sendable {
    public var jsonSchema: JsonSchemaDefinition?
    public init(jsonSchema: JsonSchemaDefinition?) { self.jsonSchema = jsonSchema }
}

/// A JSON schema, as JSON text, with an optional name and description.
public struct JsonSchemaDefinition: Codable, Hashable, Sendable {
    public var schema: String
    public var name: String?
    public var description: String?
    public init(schema: String, name: String? = nil, description: String? = nil) {
        self.schema = schema; self.name = name; self.description = description
    }
}

/// Why the model stopped generating.
public struct StopReason: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let endTurn: Self = "end_turn"
    public static let toolUse: Self = "tool_use"
    public static let maxTokens: Self = "max_tokens"
    public static let stopSequence: Self = "stop_sequence"
    public static let guardrailIntervened: Self = "guardrail_intervened"
    public static let contentFiltered: Self = "content_filtered"
}

/// Tokens written to the prompt cache with one time to live.
public struct CacheDetail: Codable, Hashable, Sendable {
    /// `5m` or `1h`.
    public var ttl: String
    public var inputTokens: Int
    public init(ttl: String, inputTokens: Int) { self.ttl = ttl; self.inputTokens = inputTokens }
}

/// Token counts of a call.
public struct TokenUsage: Codable, Hashable, Sendable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var totalTokens: Int
    public var cacheReadInputTokens: Int?
    public var cacheWriteInputTokens: Int?
    /// Cache writes per time to live.
    public var cacheDetails: [CacheDetail]?
    public init(
        inputTokens: Int, outputTokens: Int, totalTokens: Int, cacheReadInputTokens: Int? = nil,
        cacheWriteInputTokens: Int? = nil, cacheDetails: [CacheDetail]? = nil
    ) {
        self.inputTokens = inputTokens; self.outputTokens = outputTokens; self.totalTokens = totalTokens
        self.cacheReadInputTokens = cacheReadInputTokens; self.cacheWriteInputTokens = cacheWriteInputTokens
        self.cacheDetails = cacheDetails
    }

    /// The largest count a response may report (a trillion tokens): anything above it,
    /// or below zero, is a broken or hostile answer, refused here so no sum of counts
    /// downstream can overflow.
    public static let countLimit = 1_000_000_000_000

    private enum CodingKeys: String, CodingKey {
        case inputTokens, outputTokens, totalTokens, cacheReadInputTokens, cacheWriteInputTokens, cacheDetails
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int? {
            guard let n = try c.decodeIfPresent(Int.self, forKey: key) else { return nil }
            guard (0...Self.countLimit).contains(n) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c,
                    debugDescription: "token count \(n) is outside 0...\(Self.countLimit)")
            }
            return n
        }
        func required(_ key: CodingKeys) throws -> Int {
            guard let n = try count(key) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: c.codingPath, debugDescription: "usage without \(key.rawValue)"))
            }
            return n
        }
        self.init(
            inputTokens: try required(.inputTokens), outputTokens: try required(.outputTokens),
            totalTokens: try required(.totalTokens), cacheReadInputTokens: try count(.cacheReadInputTokens),
            cacheWriteInputTokens: try count(.cacheWriteInputTokens))
        if let details = try c.decodeIfPresent([CacheDetail].self, forKey: .cacheDetails) {
            guard details.count <= 16, details.allSatisfy({ (0...Self.countLimit).contains($0.inputTokens) }) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .cacheDetails, in: c,
                    debugDescription:
                        "cacheDetails must hold at most 16 entries with token counts in 0...\(Self.countLimit)")
            }
            cacheDetails = details
        }
    }
}

/// Server-side timing of a call.
public struct ConverseMetrics: Codable, Hashable, Sendable {
    public var latencyMs: Int
    public init(latencyMs: Int) { self.latencyMs = latencyMs }
}

/// The output union of Converse (today only `message`).
public enum ConverseOutput: Codable, Hashable, Sendable {
    case message(Message)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "ConverseOutput")
        switch name {
        case "message": self = .message(try c.decode(Message.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .message(v): try UnionCoding.encode(v, as: "message", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// The output of `Converse`.
public struct ConverseResponse: Codable, Hashable, Sendable {
    public var output: ConverseOutput
    public var stopReason: StopReason
    public var usage: TokenUsage
    public var metrics: ConverseMetrics?
    public var additionalModelResponseFields: JSONValue?
    /// Guardrail and prompt-router trace, kept as JSON.
    public var trace: JSONValue?
    public var performanceConfig: PerformanceConfiguration?
    public var serviceTier: ServiceTier?

    public init(
        output: ConverseOutput, stopReason: StopReason, usage: TokenUsage, metrics: ConverseMetrics? = nil,
        additionalModelResponseFields: JSONValue? = nil, trace: JSONValue? = nil,
        performanceConfig: PerformanceConfiguration? = nil, serviceTier: ServiceTier? = nil
    ) {
        self.output = output; self.stopReason = stopReason; self.usage = usage; self.metrics = metrics
        self.additionalModelResponseFields = additionalModelResponseFields; self.trace = trace
        self.performanceConfig = performanceConfig; self.serviceTier = serviceTier
    }

    /// The assistant message, when the output is a message.
    public var message: Message? { if case let .message(m) = output { m } else { nil } }
    /// All text blocks of the answer joined together.
    public var text: String { message?.content.compactMap(\.text).joined() ?? "" }
    /// The tool calls in the answer.
    public var toolUses: [ToolUseBlock] { message?.content.compactMap(\.toolUse) ?? [] }
}
