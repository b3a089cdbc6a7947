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

    public init(
        modelId: String, body: Data, contentType: String? = "application/json", accept: String? = "application/json",
        trace: String? = nil, guardrailIdentifier: String? = nil, guardrailVersion: String? = nil,
        performanceConfigLatency: String? = nil, serviceTier: String? = nil
    ) {
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
        if let performanceConfigLatency {
            h.append(("X-Amzn-Bedrock-PerformanceConfig-Latency", performanceConfigLatency))
        }
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

    public init(
        body: Data, contentType: String, performanceConfigLatency: String? = nil, serviceTier: String? = nil,
        usage: InvocationMetrics? = nil
    ) {
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

    public init(
        inputTokens: Int? = nil, outputTokens: Int? = nil, invocationLatencyMs: Int? = nil,
        firstByteLatencyMs: Int? = nil
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.invocationLatencyMs = invocationLatencyMs
        self.firstByteLatencyMs = firstByteLatencyMs
    }

    static let limit = 1_000_000_000_000

    static func count(_ text: String?) -> Int? {
        guard let text, !text.isEmpty, text.utf8.count <= 13, text.utf8.allSatisfy({ (48...57).contains($0) }),
            let n = Int(text), n <= limit
        else { return nil }
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
        let m = InvocationMetrics(
            inputTokens: count(header("X-Amzn-Bedrock-Input-Token-Count")),
            outputTokens: count(header("X-Amzn-Bedrock-Output-Token-Count")),
            invocationLatencyMs: count(header("X-Amzn-Bedrock-Invocation-Latency")))
        return m == InvocationMetrics() ? nil : m
    }

    static let chunkKey = "amazon-bedrock-invocationMetrics"
    private static let chunkKeyBytes = Data(chunkKey.utf8)

    /// The `amazon-bedrock-invocationMetrics` object of a stream chunk (the service adds
    /// it to the last one); nil for every other chunk.
    public static func fromChunk(_ chunk: Data) -> InvocationMetrics? {
        guard chunk.range(of: chunkKeyBytes) != nil,
            JSONStructure.holdsAtMost(ResponseLimits.defaultMaxJSONValues, valuesIn: chunk),
            let json = try? JSONParser.parse(chunk),
            let metrics = json[chunkKey]
        else { return nil }
        let m = InvocationMetrics(
            inputTokens: count(metrics["inputTokenCount"]),
            outputTokens: count(metrics["outputTokenCount"]),
            invocationLatencyMs: count(metrics["invocationLatency"]),
            firstByteLatencyMs: count(metrics["firstByteLatency"]))
        return m == InvocationMetrics() ? nil : m
    }
}
