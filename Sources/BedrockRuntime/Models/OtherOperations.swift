import Foundation

/// The input of `InvokeModel`: raw bytes in the model's own format.
public struct InvokeModelRequest: Codable, Hashable, Sendable {
    public var modelId: String
    /// The request body, sent as is.
    public var body: Data
    /// `Content-Type` of the body; none is sent when nil (as botocore).
    public var contentType: String?
    /// `Accept` for the answer.
    public var accept: String?
    /// `ENABLED`, `DISABLED` or `ENABLED_FULL` (`X-Amzn-Bedrock-Trace`).
    public var trace: String?
    public var guardrailIdentifier: String?
    public var guardrailVersion: String?
    /// `standard` or `optimized` (`X-Amzn-Bedrock-PerformanceConfig-Latency`).
    public var performanceConfigLatency: String?
    /// `X-Amzn-Bedrock-Service-Tier`.
    public var serviceTier: String?

    public init(modelId: String, body: Data, contentType: String? = "application/json", accept: String? = "application/json",
                trace: String? = nil, guardrailIdentifier: String? = nil, guardrailVersion: String? = nil,
                performanceConfigLatency: String? = nil, serviceTier: String? = nil) {
        self.modelId = modelId; self.body = body; self.contentType = contentType; self.accept = accept
        self.trace = trace; self.guardrailIdentifier = guardrailIdentifier; self.guardrailVersion = guardrailVersion
        self.performanceConfigLatency = performanceConfigLatency; self.serviceTier = serviceTier
    }

    /// A request whose body is `json` (written compactly).
    public init(modelId: String, json: JSONValue) {
        self.init(modelId: modelId, body: Data(JSONWriter.compact.bytes(json)))
    }

    /// The headers this request binds, in botocore's order.
    var boundHeaders: [(String, String)] {
        var h: [(String, String)] = []
        if let contentType { h.append(("Content-Type", contentType)) }
        if let accept { h.append(("Accept", accept)) }
        if let trace { h.append(("X-Amzn-Bedrock-Trace", trace)) }
        if let guardrailIdentifier { h.append(("X-Amzn-Bedrock-GuardrailIdentifier", guardrailIdentifier)) }
        if let guardrailVersion { h.append(("X-Amzn-Bedrock-GuardrailVersion", guardrailVersion)) }
        if let performanceConfigLatency { h.append(("X-Amzn-Bedrock-PerformanceConfig-Latency", performanceConfigLatency)) }
        if let serviceTier { h.append(("X-Amzn-Bedrock-Service-Tier", serviceTier)) }
        return h
    }
}

/// The output of `InvokeModel`: the model's raw answer.
public struct InvokeModelResponse: Hashable, Sendable {
    public var body: Data
    public var contentType: String
    /// `X-Amzn-Bedrock-PerformanceConfig-Latency` of the answer, when present.
    public var performanceConfigLatency: String?
    /// `X-Amzn-Bedrock-Service-Tier` of the answer, when present.
    public var serviceTier: String?
    /// The tokens and latency the service reported in its `X-Amzn-Bedrock-Input-Token-Count`,
    /// `X-Amzn-Bedrock-Output-Token-Count` and `X-Amzn-Bedrock-Invocation-Latency` headers.
    public var usage: InvocationMetrics?

    public init(body: Data, contentType: String, performanceConfigLatency: String? = nil, serviceTier: String? = nil,
                usage: InvocationMetrics? = nil) {
        self.body = body
        self.contentType = contentType
        self.performanceConfigLatency = performanceConfigLatency
        self.serviceTier = serviceTier
        self.usage = usage
    }

    /// The body parsed as JSON.
    public func json() throws -> JSONValue { try JSONParser.parse(body) }
}

/// What the service reports about one InvokeModel or InvokeModelWithResponseStream call:
/// the response headers of InvokeModel, or `amazon-bedrock-invocationMetrics` in the
/// last chunk of a stream. Values that are not whole numbers from 0 to 10^12 are dropped.
public struct InvocationMetrics: Hashable, Sendable {
    public var inputTokens: Int?
    public var outputTokens: Int?
    /// Milliseconds from request to last token.
    public var invocationLatencyMs: Int?
    /// Milliseconds from request to first token (streams only).
    public var firstByteLatencyMs: Int?

    public init(inputTokens: Int? = nil, outputTokens: Int? = nil, invocationLatencyMs: Int? = nil,
                firstByteLatencyMs: Int? = nil) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.invocationLatencyMs = invocationLatencyMs
        self.firstByteLatencyMs = firstByteLatencyMs
    }

    static let limit = 1_000_000_000_000

    static func count(_ text: String?) -> Int? {
        guard let text, !text.isEmpty, text.utf8.count <= 13, text.utf8.allSatisfy({ (48...57).contains($0) }),
              let n = Int(text), n <= limit else { return nil }
        return n
    }

    static func count(_ value: JSONValue?) -> Int? {
        guard let n = value?.intValue, (0...limit).contains(n) else { return nil }
        return n
    }

    /// The metrics in InvokeModel's response headers; nil when it sent none.
    public static func fromHeaders(_ headers: [(String, String)]) -> InvocationMetrics? {
        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1.trimmingCharacters(in: .whitespaces)
        }
        let m = InvocationMetrics(inputTokens: count(header("X-Amzn-Bedrock-Input-Token-Count")),
                                  outputTokens: count(header("X-Amzn-Bedrock-Output-Token-Count")),
                                  invocationLatencyMs: count(header("X-Amzn-Bedrock-Invocation-Latency")))
        return m == InvocationMetrics() ? nil : m
    }

    static let chunkKey = "amazon-bedrock-invocationMetrics"
    private static let chunkKeyBytes = Data(chunkKey.utf8)

    /// The `amazon-bedrock-invocationMetrics` object of a stream chunk (the service adds
    /// it to the last one); nil for every other chunk.
    public static func fromChunk(_ chunk: Data) -> InvocationMetrics? {
        guard chunk.range(of: chunkKeyBytes) != nil, let json = try? JSONParser.parse(chunk),
              let metrics = json[chunkKey] else { return nil }
        let m = InvocationMetrics(inputTokens: count(metrics["inputTokenCount"]),
                                  outputTokens: count(metrics["outputTokenCount"]),
                                  invocationLatencyMs: count(metrics["invocationLatency"]),
                                  firstByteLatencyMs: count(metrics["firstByteLatency"]))
        return m == InvocationMetrics() ? nil : m
    }
}

/// What `CountTokens` counts: an InvokeModel body or a Converse input.
public enum CountTokensInput: Codable, Hashable, Sendable {
    /// An InvokeModel body (`{"invokeModel": {"body": <bytes>}}`).
    case invokeModel(body: Data)
    /// Converse messages and system prompt.
    case converse(messages: [Message]?, system: [SystemContentBlock]?)
    case unknown(String, JSONValue)

    struct InvokeBody: Codable { var body: Data }
    struct ConverseInput: Codable { var messages: [Message]?; var system: [SystemContentBlock]? }

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "CountTokensInput")
        switch name {
        case "invokeModel": self = .invokeModel(body: try c.decode(InvokeBody.self, forKey: key).body)
        case "converse":
            let v = try c.decode(ConverseInput.self, forKey: key)
            self = .converse(messages: v.messages, system: v.system)
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .invokeModel(body): try UnionCoding.encode(InvokeBody(body: body), as: "invokeModel", to: encoder)
        case let .converse(m, s): try UnionCoding.encode(ConverseInput(messages: m, system: s), as: "converse", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// The input of `CountTokens`.
public struct CountTokensRequest: Codable, Hashable, Sendable {
    public var modelId: String
    public var input: CountTokensInput
    public init(modelId: String, input: CountTokensInput) { self.modelId = modelId; self.input = input }
}

/// The output of `CountTokens`.
public struct CountTokensResponse: Codable, Hashable, Sendable {
    public var inputTokens: Int
}

/// Content given to `ApplyGuardrail`.
public enum GuardrailContentBlock: Codable, Hashable, Sendable {
    case text(GuardrailTextBlock)
    case image(ImageBlock)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "GuardrailContentBlock")
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

/// The input of `ApplyGuardrail`.
public struct ApplyGuardrailRequest: Codable, Hashable, Sendable {
    public var guardrailIdentifier: String
    public var guardrailVersion: String
    /// `INPUT` or `OUTPUT`.
    public var source: String
    public var content: [GuardrailContentBlock]
    /// `FULL` or `INTERVENTIONS`.
    public var outputScope: String?
    public init(guardrailIdentifier: String, guardrailVersion: String, source: String, content: [GuardrailContentBlock], outputScope: String? = nil) {
        self.guardrailIdentifier = guardrailIdentifier; self.guardrailVersion = guardrailVersion
        self.source = source; self.content = content; self.outputScope = outputScope
    }
}

/// The output of `ApplyGuardrail`; the detailed assessments are kept as JSON.
public struct ApplyGuardrailResponse: Codable, Hashable, Sendable {
    public var usage: JSONValue?
    /// `NONE` or `GUARDRAIL_INTERVENED`.
    public var action: String
    public var actionReason: String?
    public var outputs: [GuardrailTextBlock]?
    public var assessments: JSONValue?
    public var guardrailCoverage: JSONValue?
}

/// Where an async invocation writes its output.
public struct AsyncInvokeOutputDataConfig: Codable, Hashable, Sendable {
    public var s3OutputDataConfig: AsyncInvokeS3OutputDataConfig?
    public init(s3OutputDataConfig: AsyncInvokeS3OutputDataConfig) { self.s3OutputDataConfig = s3OutputDataConfig }
}

/// An S3 destination for async output.
public struct AsyncInvokeS3OutputDataConfig: Codable, Hashable, Sendable {
    public var s3Uri: String
    public var kmsKeyId: String?
    public var bucketOwner: String?
    public init(s3Uri: String, kmsKeyId: String? = nil, bucketOwner: String? = nil) {
        self.s3Uri = s3Uri; self.kmsKeyId = kmsKeyId; self.bucketOwner = bucketOwner
    }
}

/// A tag on an async invocation.
public struct Tag: Codable, Hashable, Sendable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

/// The input of `StartAsyncInvoke`. `clientRequestToken` is filled with a UUID when
/// absent, as botocore does, so a retried start is idempotent.
public struct StartAsyncInvokeRequest: Codable, Hashable, Sendable {
    public var clientRequestToken: String?
    public var modelId: String
    public var modelInput: JSONValue
    public var outputDataConfig: AsyncInvokeOutputDataConfig
    public var tags: [Tag]?
    public init(clientRequestToken: String? = nil, modelId: String, modelInput: JSONValue, outputDataConfig: AsyncInvokeOutputDataConfig, tags: [Tag]? = nil) {
        self.clientRequestToken = clientRequestToken; self.modelId = modelId; self.modelInput = modelInput
        self.outputDataConfig = outputDataConfig; self.tags = tags
    }
}

/// The output of `StartAsyncInvoke`.
public struct StartAsyncInvokeResponse: Codable, Hashable, Sendable {
    public var invocationArn: String
}

/// The state of an async invocation (`InProgress`, `Completed`, `Failed`).
public struct AsyncInvokeStatus: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let inProgress: Self = "InProgress"
    public static let completed: Self = "Completed"
    public static let failed: Self = "Failed"
}

/// One async invocation, as `GetAsyncInvoke` and `ListAsyncInvokes` describe it.
public struct AsyncInvokeSummary: Codable, Hashable, Sendable {
    public var invocationArn: String
    public var modelArn: String
    public var clientRequestToken: String?
    public var status: AsyncInvokeStatus?
    public var failureMessage: String?
    public var submitTime: Date
    public var lastModifiedTime: Date?
    public var endTime: Date?
    public var outputDataConfig: AsyncInvokeOutputDataConfig
}

/// The output of `GetAsyncInvoke`.
public typealias GetAsyncInvokeResponse = AsyncInvokeSummary

/// The input of `ListAsyncInvokes` (all members go in the query string).
public struct ListAsyncInvokesRequest: Codable, Hashable, Sendable {
    public var submitTimeAfter: Date?
    public var submitTimeBefore: Date?
    public var statusEquals: AsyncInvokeStatus?
    public var maxResults: Int?
    public var nextToken: String?
    /// `SubmissionTime`.
    public var sortBy: String?
    /// `Ascending` or `Descending`.
    public var sortOrder: String?
    public init(submitTimeAfter: Date? = nil, submitTimeBefore: Date? = nil, statusEquals: AsyncInvokeStatus? = nil,
                maxResults: Int? = nil, nextToken: String? = nil, sortBy: String? = nil, sortOrder: String? = nil) {
        self.submitTimeAfter = submitTimeAfter; self.submitTimeBefore = submitTimeBefore; self.statusEquals = statusEquals
        self.maxResults = maxResults; self.nextToken = nextToken; self.sortBy = sortBy; self.sortOrder = sortOrder
    }
}

/// The output of `ListAsyncInvokes`.
public struct ListAsyncInvokesResponse: Codable, Hashable, Sendable {
    public var nextToken: String?
    public var asyncInvokeSummaries: [AsyncInvokeSummary]?
}
