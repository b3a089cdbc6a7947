import BedrockWire
import Foundation
import NIOHTTP1

/// A client for Amazon Bedrock Runtime (or the local emulator): one async method per
/// operation, typed requests and answers, retries and timeouts by the rules in
/// `RetryConfiguration` and `Timeouts`, and an attempt log on every result and error.
///
/// Owns its connection pools: call `shutdown()` when done.
public final class BedrockRuntimeClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: Configuration
    let pipeline: RequestPipeline
    private let ownedTransport: AsyncHTTPClientTransport?

    /// Creates a client. Fails when the TLS settings cannot be used (unreadable CA bundle).
    public convenience init(configuration: Configuration) throws {
        try self.init(configuration: configuration, now: { Date() }, invocationId: InvocationId.make)
    }

    /// Creates a client from the AWS conventions (environment, profile, code) as
    /// resolved by `BedrockConfiguration.resolve()`.
    public convenience init(configuration: BedrockConfiguration, credentials: (any CredentialProvider)? = nil) throws {
        try self.init(configuration: Configuration(resolved: configuration, credentials: credentials))
    }

    init(
        configuration: Configuration, now: @escaping @Sendable () -> Date,
        invocationId: @escaping @Sendable () -> String,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) throws {
        self.configuration = configuration
        let base: any HTTPTransport
        if let custom = configuration.transport {
            base = custom
            ownedTransport = nil
        } else {
            let t = try AsyncHTTPClientTransport(
                tls: configuration.tls, proxy: configuration.proxy,
                connectTimeout: configuration.timeouts.connect)
            base = t
            ownedTransport = t
        }
        pipeline = RequestPipeline(
            configuration: configuration, transport: base, now: now,
            invocationId: invocationId, random: random)
    }

    /// Closes the connection pools. Call once, after the last call.
    public func shutdown() async throws {
        try await ownedTransport?.shutdown()
    }

    /// Tokens left in the client's retry quota.
    public var retryQuotaAvailable: Int { pipeline.quota.available }

    // MARK: Operations

    /// Sends a conversation and returns the model's answer (`POST /model/{id}/converse`).
    public func converse(_ request: ConverseRequest, options: CallOptions = .none) async throws -> BedrockResult<
        ConverseResponse
    > {
        try await converse(try EncodedConverseRequest(request), options: options)
    }

    /// Sends a conversation already encoded (its JSON is sent as it is, not encoded again).
    public func converse(_ encoded: EncodedConverseRequest, options: CallOptions = .none) async throws
        -> BedrockResult<ConverseResponse>
    {
        try await call(try Self.converseOperation(encoded), options: options, as: ConverseResponse.self)
    }

    /// Invokes a model with a body in its own format (`POST /model/{id}/invoke`).
    public func invokeModel(_ request: InvokeModelRequest, options: CallOptions = .none) async throws -> BedrockResult<
        InvokeModelResponse
    > {
        let op = try Self.invokeModelOperation(request)
        let limit = configuration.limits.maxBodyBytes
        let budget = pipeline.budget
        let (collected, attempts, headers) = try await pipeline.perform(op, options: options) { response, watchdog in
            try await RequestPipeline.collect(response, watchdog, limit: limit, budget: budget)
        }
        let response = InvokeModelResponse(
            body: Data(collected.body),
            contentType: headers.first(name: "Content-Type") ?? "application/octet-stream",
            performanceConfigLatency: headers.first(name: "X-Amzn-Bedrock-PerformanceConfig-Latency"),
            serviceTier: headers.first(name: "X-Amzn-Bedrock-Service-Tier"),
            usage: InvocationMetrics.fromHeaders(headers.map { ($0.name, $0.value) }))
        return BedrockResult(output: response, attempts: attempts, requestId: headers.requestId)
    }

    /// Counts the input tokens a request would use (`POST /model/{id}/count-tokens`).
    public func countTokens(_ request: CountTokensRequest, options: CallOptions = .none) async throws -> BedrockResult<
        CountTokensResponse
    > {
        try await call(try Self.countTokensOperation(request), options: options, as: CountTokensResponse.self)
    }

    /// Checks content against a guardrail (`POST /guardrail/{id}/version/{v}/apply`).
    public func applyGuardrail(_ request: ApplyGuardrailRequest, options: CallOptions = .none) async throws
        -> BedrockResult<ApplyGuardrailResponse>
    {
        try await call(try Self.applyGuardrailOperation(request), options: options, as: ApplyGuardrailResponse.self)
    }

    /// Runs standalone safety checks (content filter, prompt attack, sensitive
    /// information) on a conversation (`POST /guardrail-checks/invoke`).
    public func invokeGuardrailChecks(_ request: InvokeGuardrailChecksRequest, options: CallOptions = .none)
        async throws -> BedrockResult<InvokeGuardrailChecksResponse>
    {
        try await call(
            try Self.invokeGuardrailChecksOperation(request), options: options, as: InvokeGuardrailChecksResponse.self)
    }

    /// Starts an asynchronous invocation (`POST /async-invoke`). A missing
    /// `clientRequestToken` is filled with a UUID so retries are idempotent.
    public func startAsyncInvoke(_ request: StartAsyncInvokeRequest, options: CallOptions = .none) async throws
        -> BedrockResult<StartAsyncInvokeResponse>
    {
        var request = request
        if request.clientRequestToken == nil { request.clientRequestToken = UUID().uuidString.lowercased() }
        return try await call(
            try Self.startAsyncInvokeOperation(request), options: options, as: StartAsyncInvokeResponse.self)
    }

    /// Describes one asynchronous invocation (`GET /async-invoke/{arn}`).
    public func getAsyncInvoke(invocationArn: String, options: CallOptions = .none) async throws -> BedrockResult<
        GetAsyncInvokeResponse
    > {
        try await call(
            try Self.getAsyncInvokeOperation(invocationArn: invocationArn), options: options,
            as: GetAsyncInvokeResponse.self)
    }

    /// Lists asynchronous invocations, one page (`GET /async-invoke?...`).
    public func listAsyncInvokes(
        _ request: ListAsyncInvokesRequest = ListAsyncInvokesRequest(), options: CallOptions = .none
    ) async throws -> BedrockResult<ListAsyncInvokesResponse> {
        try await call(try Self.listAsyncInvokesOperation(request), options: options, as: ListAsyncInvokesResponse.self)
    }

    /// Pages `listAsyncInvokesPages` follows at most (a server handing out endless
    /// distinct tokens must not keep the caller busy forever).
    public static let maxListPages = 1_000

    /// Every asynchronous invocation, page after page, following `nextToken`; stops
    /// with an error on a repeated token or after `maxListPages` pages.
    public func listAsyncInvokesPages(
        _ request: ListAsyncInvokesRequest = ListAsyncInvokesRequest(), options: CallOptions = .none
    ) -> AsyncThrowingStream<ListAsyncInvokesResponse, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var next = request
                var seen: Set<String> = []
                var pages = 0
                do {
                    while true {
                        let page = try await self.listAsyncInvokes(next, options: options).output
                        pages += 1
                        continuation.yield(page)
                        guard let token = page.nextToken, !token.isEmpty else { break }
                        guard seen.insert(token).inserted else {
                            throw BedrockError.invalidResponse("ListAsyncInvokes returned the same nextToken twice")
                        }
                        guard pages < Self.maxListPages else {
                            throw BedrockError(
                                kind: .responseTooLarge,
                                message: "ListAsyncInvokes paging stopped: still a nextToken after \(pages) pages "
                                    + "(the cap of \(Self.maxListPages) pages)")
                        }
                        next.nextToken = token
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Streams a conversation's answer as events (`POST /model/{id}/converse-stream`).
    /// Input errors throw here; everything else surfaces while iterating.
    public func converseStream(_ request: ConverseRequest, options: CallOptions = .none) throws -> ConverseEventStream {
        try converseStream(try EncodedConverseRequest(request), options: options)
    }

    /// Streams a conversation already encoded (its JSON is sent as it is, not encoded again).
    public func converseStream(_ encoded: EncodedConverseRequest, options: CallOptions = .none) throws
        -> ConverseEventStream
    {
        pipeline.stream(try Self.converseOperation(encoded, stream: true), options: options, codec: .converse)
    }

    /// Streams a model's answer in its own format as `chunk` events
    /// (`POST /model/{id}/invoke-with-response-stream`).
    public func invokeModelWithResponseStream(_ request: InvokeModelRequest, options: CallOptions = .none) throws
        -> ResponseEventStream
    {
        pipeline.stream(try Self.invokeModelOperation(request, stream: true), options: options, codec: .responseStream)
    }

    /// Opens a bidirectional stream with a model (`POST /model/{id}/invoke-with-bidirectional-stream`,
    /// over HTTP/2): each element of `input` is sent as a `chunk` event as soon as it is
    /// produced, signed with the chained event signature (SigV4), and the input is
    /// closed by a signed empty message when `input` ends. The model's `chunk` output
    /// events arrive while input is still being sent. The call is made once (input
    /// cannot be replayed); input errors throw here, everything else while iterating.
    public func invokeModelWithBidirectionalStream<Input: AsyncSequence & Sendable>(
        modelId: String, input: Input, options: CallOptions = .none
    ) throws -> BidirectionalEventStream where Input.Element == Data {
        var op = OperationRequest(
            operation: .invokeModelWithBidirectionalStream, method: .POST,
            path: try Self.modelPath(
                modelId, "invoke-with-bidirectional-stream",
                operation: .invokeModelWithBidirectionalStream))
        op.headers = [("Content-Type", "application/vnd.amazon.eventstream")]
        op.idempotent = false
        return pipeline.bidirectionalStream(op, input: input, options: options)
    }

    // MARK: Request building (botocore's REST-JSON bindings)

    static func modelPath(_ modelId: String, _ suffix: String, operation: BedrockOperation) throws -> String {
        try InputCheck.nonEmpty(modelId, "modelId", in: operation)
        return "/model/\(URIEncoding.encode(modelId))/\(suffix)"
    }

    static func converseOperation(_ r: ConverseRequest, stream: Bool = false) throws -> OperationRequest {
        try converseOperation(try EncodedConverseRequest(r), stream: stream)
    }

    static func converseOperation(_ e: EncodedConverseRequest, stream: Bool = false) throws -> OperationRequest {
        let operation: BedrockOperation = stream ? .converseStream : .converse
        return try .json(
            operation,
            path: try modelPath(e.request.modelId, stream ? "converse-stream" : "converse", operation: operation),
            tree: e.json, excluding: ["modelId"])
    }

    static func countTokensOperation(_ r: CountTokensRequest) throws -> OperationRequest {
        try .json(
            .countTokens, path: try modelPath(r.modelId, "count-tokens", operation: .countTokens), input: r,
            excluding: ["modelId"])
    }

    static func applyGuardrailOperation(_ r: ApplyGuardrailRequest) throws -> OperationRequest {
        try InputCheck.nonEmpty(r.guardrailIdentifier, "guardrailIdentifier", in: .applyGuardrail)
        try InputCheck.nonEmpty(r.guardrailVersion, "guardrailVersion", in: .applyGuardrail)
        let path =
            "/guardrail/\(URIEncoding.encode(r.guardrailIdentifier))/version/\(URIEncoding.encode(r.guardrailVersion))/apply"
        return try .json(.applyGuardrail, path: path, input: r, excluding: ["guardrailIdentifier", "guardrailVersion"])
    }

    static func invokeGuardrailChecksOperation(_ r: InvokeGuardrailChecksRequest) throws -> OperationRequest {
        if r.messages.isEmpty { throw BedrockError.invalidRequest("InvokeGuardrailChecks: messages must not be empty") }
        if r.checks.contentFilter == nil, r.checks.promptAttack == nil, r.checks.sensitiveInformation == nil {
            throw BedrockError.invalidRequest(
                "InvokeGuardrailChecks: checks must set contentFilter, promptAttack or sensitiveInformation")
        }
        return try .json(.invokeGuardrailChecks, path: "/guardrail-checks/invoke", input: r, excluding: [])
    }

    static func startAsyncInvokeOperation(_ r: StartAsyncInvokeRequest) throws -> OperationRequest {
        try InputCheck.nonEmpty(r.modelId, "modelId", in: .startAsyncInvoke)
        return try .json(.startAsyncInvoke, path: "/async-invoke", input: r, excluding: [])
    }

    static func invokeModelOperation(_ r: InvokeModelRequest, stream: Bool = false) throws -> OperationRequest {
        let operation: BedrockOperation = stream ? .invokeModelWithResponseStream : .invokeModel
        var op = OperationRequest(
            operation: operation, method: .POST,
            path: try modelPath(r.modelId, stream ? "invoke-with-response-stream" : "invoke", operation: operation))
        var headers = r.boundHeaders
        if stream, let i = headers.firstIndex(where: { $0.0 == "Accept" }) {
            headers[i].0 = "X-Amzn-Bedrock-Accept"
        }
        op.headers = headers
        op.body = Array(r.body)
        return op
    }

    static func getAsyncInvokeOperation(invocationArn: String) throws -> OperationRequest {
        try InputCheck.nonEmpty(invocationArn, "invocationArn", in: .getAsyncInvoke)
        return OperationRequest(
            operation: .getAsyncInvoke, method: .GET, path: "/async-invoke/\(URIEncoding.encode(invocationArn))")
    }

    static func listAsyncInvokesOperation(_ r: ListAsyncInvokesRequest) throws -> OperationRequest {
        var query: [(name: String, value: String)] = []
        func add(_ name: String, _ value: String?) {
            if let value { query.append((name, URIEncoding.encode(value))) }
        }
        add("submitTimeAfter", r.submitTimeAfter.map(ISO8601Text.format))
        add("submitTimeBefore", r.submitTimeBefore.map(ISO8601Text.format))
        add("statusEquals", r.statusEquals?.rawValue)
        if let m = r.maxResults {
            guard m >= 1 else {
                throw BedrockError.invalidRequest("ListAsyncInvokes: maxResults must be at least 1, got \(m)")
            }
            add("maxResults", String(m))
        }
        add("nextToken", r.nextToken)
        add("sortBy", r.sortBy)
        add("sortOrder", r.sortOrder)
        return OperationRequest(operation: .listAsyncInvokes, method: .GET, path: "/async-invoke", query: query)
    }

    // MARK: Plumbing

    private func call<T: Decodable & Sendable>(_ op: OperationRequest, options: CallOptions, as type: T.Type)
        async throws -> BedrockResult<T>
    {
        let limit = configuration.limits.maxBodyBytes
        let maxValues = configuration.limits.maxJSONValues
        let budget = pipeline.budget
        let (output, attempts, headers): (T, [AttemptRecord], HTTPHeaders) = try await pipeline.perform(
            op, options: options
        ) { response, watchdog in
            let collected = try await RequestPipeline.collect(response, watchdog, limit: limit, budget: budget)
            return try await CallExecutor.decode(answerOf: collected.body.count) {
                try Self.decodeAnswer(collected, of: op, as: T.self, maxValues: maxValues)
            }
        }
        return BedrockResult(output: output, attempts: attempts, requestId: headers.requestId)
    }

    /// A 2xx answer's typed value: at most `maxValues` JSON values, or an error naming the bound.
    private static func decodeAnswer<T: Decodable & Sendable>(
        _ collected: CollectedResponse, of op: OperationRequest, as type: T.Type, maxValues: Int
    ) throws -> T {
        guard JSONStructure.holdsAtMost(maxValues, valuesIn: collected.body) else {
            var e = BedrockError.tooManyJSONValues("the \(op.name) answer", limit: maxValues)
            e.httpStatus = collected.status
            e.requestId = collected.headers.requestId
            throw e
        }
        do {
            return try JSONValueDecoder().decode(T.self, from: collected.body)
        } catch {
            throw BedrockError.invalidResponse(
                "\(op.name) answer could not be read: \(Self.describe(error))",
                status: collected.status, requestId: collected.headers.requestId)
        }
    }

    /// A readable account of a decoding error: what, and where (`output.message.role`).
    package static func describe(_ error: any Error) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.isEmpty
                ? "the top level" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let DecodingError.keyNotFound(key, ctx):
            return "missing member '\(key.stringValue)' at \(path(ctx.codingPath))"
        case let DecodingError.typeMismatch(_, ctx): return "\(ctx.debugDescription) at \(path(ctx.codingPath))"
        case let DecodingError.valueNotFound(_, ctx): return "\(ctx.debugDescription) at \(path(ctx.codingPath))"
        case let DecodingError.dataCorrupted(ctx): return "\(ctx.debugDescription) at \(path(ctx.codingPath))"
        default: return "\(error)"
        }
    }
}
