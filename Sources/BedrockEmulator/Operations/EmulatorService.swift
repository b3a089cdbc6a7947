import BedrockWire
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The emulator's request pipeline, independent of sockets: route, authenticate,
/// apply faults and quotas, run the operation, record it.
final class EmulatorService: Sendable {
    let configuration: EmulatorConfiguration
    let adminToken: String
    let faults = FaultBook()
    let log: RequestLog
    let quotas: QuotaLimiter
    private let asyncJobs: AsyncInvokeStore
    let authenticator: RequestAuthenticator
    let generator: ResponseGenerator
    /// Cache points seen, for `cacheReadInputTokens` / `cacheWriteInputTokens`.
    let promptCache = PromptCache()
    /// Scripted replies (admin API `responses`, the Swift API, the config file).
    let replies = ReplyBook()
    /// The emulator's S3 (buckets in memory).
    let objects: ObjectStore
    /// Batch inference jobs (the Bedrock control plane).
    let batchJobs: ModelInvocationJobs
    private let dates = HTTPDateCache()

    init(configuration: EmulatorConfiguration, adminToken: String) {
        self.configuration = configuration
        self.adminToken = adminToken
        self.log = RequestLog(capacity: configuration.maxRecordedRequests)
        self.asyncJobs = AsyncInvokeStore(capacity: configuration.maxAsyncInvokeJobs)
        self.quotas = QuotaLimiter(quotas: configuration.quotas)
        self.authenticator = RequestAuthenticator(configuration: configuration)
        self.objects = ObjectStore(byteCapacity: configuration.maxStoredObjectBytes)
        self.batchJobs = ModelInvocationJobs(
            settings: .init(
                stepDuration: configuration.batchStepDuration, minimumRecords: configuration.batchMinimumRecords,
                maximumRecords: configuration.batchMaximumRecords, maxActiveJobs: configuration.maxActiveBatchJobs,
                capacity: configuration.maxBatchJobs), objects: objects)
        self.generator = ResponseGenerator(policy: GuardrailEvaluator(words: configuration.guardrailWords))
        for reply in configuration.responses { _ = try? replies.add(reply) }
    }

    /// The context a request is handled in once it is routed and authenticated.
    private struct Context {
        var requestID: String
        var operation: BedrockOperation
        var region: String
        var modelID: String?
        var model: ModelDescriptor?
        var record: RecordedRequest
        var streamFault: StreamFault?
    }

    /// Handles one whole request. Only requests that pass authentication are recorded
    /// in the request log: anything a stranger (a web page, a port scanner) sends is
    /// answered with AWS's error and forgotten.
    func handle(_ request: EmulatorRequest) async -> EmulatorResponse {
        let requestID = UUID().uuidString.lowercased()
        // A virtual-hosted S3 request (`Host: bucket.localhost`) has only a key for a path:
        // `/_quarry/…` there is an object, not the admin API.
        let virtualHosted = request.headers.first(name: "host").flatMap(S3Addressing.virtualBucket(host:)) != nil
        let route = Route.match(method: request.method, path: String(request.path))
        if !virtualHosted, case .admin(let segments)? = route {
            return AdminAPI(service: self).handle(request, segments: segments, requestID: requestID)
        }
        let caller: AuthenticatedCaller
        do {
            caller = try authenticator.authenticate(request)
        } catch {
            return refusal(error, headers: request.headers, requestID: requestID)
        }
        if caller.service == "s3" {
            let (response, operation, failure) = S3API(store: objects, service: self).handle(
                request, requestID: requestID)
            log.append(
                RecordedRequest(
                    requestID: requestID, time: Date(), operation: operation, region: caller.region,
                    principal: caller.principal, status: failure?.status ?? 200, error: failure?.code))
            return response
        }
        guard case .operation(let operation, let modelID, let parameters)? = route else {
            let error = ServiceError(
                name: "UnknownOperationException", status: 404,
                message: "Unknown operation \(request.method) \(RequestLog.cut(String(request.path)))")
            log.append(
                RecordedRequest(
                    requestID: requestID, time: Date(), region: caller.region, principal: caller.principal,
                    status: 404, error: error.name))
            return errorResponse(error, requestID: requestID)
        }
        var record = RecordedRequest(
            requestID: requestID, time: Date(), operation: operation.rawValue, model: modelID,
            region: caller.region, principal: caller.principal, status: 200)
        let response = await run(
            operation, modelID: modelID, parameters: parameters, request: request, caller: caller, record: &record)
        log.append(record)
        return response
    }

    private func run(
        _ operation: BedrockOperation, modelID: String?, parameters: [String], request: EmulatorRequest,
        caller: AuthenticatedCaller, record: inout RecordedRequest
    ) async -> EmulatorResponse {
        let requestID = record.requestID
        do throws(ServiceError) {
            var context = Context(
                requestID: requestID, operation: operation, region: caller.region, modelID: modelID,
                model: modelID.flatMap { configuration.catalog.resolve($0) }, record: record)
            if let effect = faults.match(
                operation: operation, model: modelID, resolvedModel: context.model?.id, region: caller.region)
            {
                switch effect {
                case .error(let code, let retryAfter):
                    record.fault = "error"
                    throw ServiceError.injected(code, retryAfterMilliseconds: retryAfter)
                case .latency(let milliseconds):
                    record.fault = "latency"
                    try? await Task.sleep(for: .milliseconds(milliseconds))
                case .stall:
                    record.fault = "stall"
                    record.status = 0
                    return .stall
                case .reset:
                    record.fault = "reset"
                    record.status = 0
                    return .reset
                case .stream(let fault):
                    record.fault = "stream"
                    context.streamFault = fault
                }
            }
            let response = try await perform(operation, parameters: parameters, request: request, context: &context)
            record.inputTokens = context.record.inputTokens
            record.outputTokens = context.record.outputTokens
            record.media = context.record.media
            return response
        } catch {
            record.status = error.status
            record.error = error.name
            return errorResponse(error, requestID: requestID)
        }
    }

    // MARK: Batch records

    /// Runs one batch record through the models, as InvokeModel (the model's native
    /// body) or Converse would, scripted replies included (a scripted error becomes the
    /// record's error). On-demand quotas do not apply: batch has its own.
    func runBatchRecord(model: ModelDescriptor, input: JSONValue, converse: Bool) async -> BatchRecordOutcome {
        do throws(ServiceError) {
            if converse {
                let generation = try ConverseRequestReader(model: model).read(input)
                let turn = try scriptedOrGenerated(generation, operation: "Converse")
                return .output(
                    ConverseShapes.response(turn, latencyMs: latencyMilliseconds(turn)),
                    inputTokens: turn.inputTokens, outputTokens: turn.outputTokens)
            }
            if !model.family.generatesText {
                let (result, tokens) = try EmbeddingGenerator.invoke(input, model: model)
                return .output(result, inputTokens: tokens, outputTokens: 0)
            }
            guard let format = NativeFormats.format(for: model.family) else {
                throw .validation("The provided model identifier is invalid.")
            }
            let generation = try format.read(input, model: model)
            let turn = try scriptedOrGenerated(generation, operation: "InvokeModel")
            return .output(
                format.response(turn, model: model, requestID: UUID().uuidString.lowercased()),
                inputTokens: turn.inputTokens, outputTokens: turn.outputTokens)
        } catch {
            return .error(code: error.status, message: error.message)
        }
    }

    private func scriptedOrGenerated(_ generation: GenerationRequest, operation: String) throws(ServiceError)
        -> GeneratedTurn
    {
        guard
            let scripted = replies.match(
                operation: operation, requestedModel: generation.model.id, model: generation.model.id,
                lastUserText: generation.lastUserText)
        else {
            return generator.generate(generation)
        }
        if let code = scripted.error {
            let injected = ServiceError.injected(code, retryAfterMilliseconds: nil)
            throw ServiceError(
                name: injected.name, status: injected.status, message: scripted.reply.message ?? injected.message)
        }
        return generator.scripted(scripted.reply, for: generation)
    }

    // MARK: Operations

    private func perform(
        _ operation: BedrockOperation, parameters: [String], request: EmulatorRequest,
        context: inout Context
    ) async throws(ServiceError) -> EmulatorResponse {
        switch operation {
        case .converse, .converseStream:
            let model = try textModel(context)
            let body = try jsonBody(request)
            context.record.media = RecordedMedia.of(converseBody: body)
            let generation = try ConverseRequestReader(model: model).read(body)
            let turn = try await generate(generation, context: &context, streaming: operation == .converseStream)
            if operation == .converse {
                return json(
                    ConverseShapes.response(turn, latencyMs: latencyMilliseconds(turn)), requestID: context.requestID)
            }
            let events = ConverseShapes.streamEvents(turn, latencyMs: latencyMilliseconds(turn))
            let payloads = events.enumerated().map { index, event in
                (event.type, ConverseShapes.padded(event.payload, index: index).serialized)
            }
            return stream(payloads, contentTypeHeader: nil, context: context)
        case .invokeModel, .invokeModelWithResponseStream:
            let model = try anyModel(context)
            guard model.family.servesInvokeModel else {
                throw .validation(
                    "The model \(model.id) doesn't support \(operation.rawValue). Use \(Self.servingOperation(model)) instead."
                )
            }
            let body = try jsonBody(request, malformedStyle: true)
            if !model.family.generatesText {
                guard operation == .invokeModel else {
                    throw .validation("The model \(model.id) doesn't support streaming. Use InvokeModel instead.")
                }
                let (result, tokens) = try EmbeddingGenerator.invoke(body, model: model)
                try quotas.admit(model: model.id, region: context.region)
                quotas.charge(tokens: tokens, model: model.id, region: context.region)
                context.record.inputTokens = tokens
                return .complete(
                    status: 200,
                    headers: headers(
                        context.requestID,
                        [
                            ("Content-Type", "application/json"), ("X-Amzn-Bedrock-Invocation-Latency", "1"),
                            ("X-Amzn-Bedrock-Input-Token-Count", String(tokens)),
                        ]), body: result.serialized)
            }
            guard let format = NativeFormats.format(for: model.family) else {
                throw .validation("The provided model identifier is invalid.")
            }
            let generation = try format.read(body, model: model)
            let turn = try await generate(
                generation, context: &context, streaming: operation == .invokeModelWithResponseStream)
            if operation == .invokeModel {
                return .complete(
                    status: 200,
                    headers: headers(
                        context.requestID,
                        [
                            ("Content-Type", "application/json"),
                            ("X-Amzn-Bedrock-Invocation-Latency", String(latencyMilliseconds(turn))),
                            ("X-Amzn-Bedrock-Output-Token-Count", String(turn.outputTokens)),
                            ("X-Amzn-Bedrock-Input-Token-Count", String(turn.inputTokens)),
                        ]), body: format.response(turn, model: model, requestID: context.requestID).serialized)
            }
            let chunks = format.streamChunks(turn, model: model, requestID: context.requestID).enumerated().map {
                index, chunk in
                (
                    "chunk",
                    ConverseShapes.padded(
                        ["bytes": .string(Data(chunk.serialized).base64EncodedString())], index: index
                    ).serialized
                )
            }
            return stream(chunks, contentTypeHeader: "application/json", context: context)
        case .countTokens:
            let model = try textModel(context)
            let body = try jsonBody(request)
            let tokens: Int
            if let converse = body["input"]?["converse"] {
                tokens = try ConverseRequestReader(model: model).read(converse).inputTokens
            } else if let encoded = body["input"]?["invokeModel"]?["body"]?.stringValue {
                guard let data = Data(base64Encoded: encoded), let native = try? JSONParser.parse(data),
                    let format = NativeFormats.format(for: model.family)
                else {
                    throw .validation(
                        "The input.invokeModel.body field must be a base64-encoded JSON body for the model.")
                }
                tokens = try format.read(native, model: model).inputTokens
            } else {
                throw .validation(
                    "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"
                )
            }
            context.record.inputTokens = tokens
            return json(["inputTokens": .int(tokens)], requestID: context.requestID)
        case .applyGuardrail:
            let result = try generator.policy.apply(
                identifier: parameters[0], version: parameters[1], body: try jsonBody(request))
            return json(result, requestID: context.requestID)
        case .invokeGuardrailChecks:
            return json(
                try GuardrailChecksEvaluator().invoke(body: try jsonBody(request)), requestID: context.requestID)
        case .startAsyncInvoke:
            let body = try jsonBody(request)
            guard let id = body["modelId"]?.stringValue else {
                throw .validation(
                    "1 validation error detected: Value null at 'modelId' failed to satisfy constraint: Member must not be null"
                )
            }
            guard let model = configuration.catalog.resolve(id) else {
                throw .validation("The provided model identifier is invalid.")
            }
            context.record.model = id
            guard model.family.servesAsyncInvoke else { throw .validation(Self.unsupported(model, operation)) }
            return json(try asyncJobs.start(body, model: model, region: context.region), requestID: context.requestID)
        case .getAsyncInvoke:
            return json(try asyncJobs.get(arn: parameters[0]), requestID: context.requestID)
        case .listAsyncInvokes:
            return json(try asyncJobs.list(query: PercentDecoding.query(request.query)), requestID: context.requestID)
        case .createModelInvocationJob:
            let body = try jsonBody(request)
            let created = try batchJobs.create(body, region: context.region, catalog: configuration.catalog) {
                [weak self] model, input, converse in
                guard let self else { return .error(code: 500, message: "The emulator stopped.") }
                return await self.runBatchRecord(model: model, input: input, converse: converse)
            }
            return json(created, requestID: context.requestID)
        case .getModelInvocationJob:
            return json(try batchJobs.get(parameters[0]), requestID: context.requestID)
        case .listModelInvocationJobs:
            return json(try batchJobs.list(query: PercentDecoding.query(request.query)), requestID: context.requestID)
        case .stopModelInvocationJob:
            return json(try batchJobs.stop(parameters[0]), requestID: context.requestID)
        case .invokeModelWithBidirectionalStream:
            throw .validation(
                "InvokeModelWithBidirectionalStream needs an HTTP/2 connection; this emulator serves it over HTTP/2 only."
            )
        }
    }

    /// The service's refusal of an operation a model is not served by.
    static func unsupported(_ model: ModelDescriptor, _ operation: BedrockOperation) -> String {
        "The model \(model.id) doesn't support \(operation.rawValue). Use \(servingOperation(model)) instead."
    }

    /// The operation that serves a model that only one operation serves.
    static func servingOperation(_ model: ModelDescriptor) -> String {
        if model.family.servesAsyncInvoke { return BedrockOperation.startAsyncInvoke.rawValue }
        if model.family.servesBidirectionalStream {
            return BedrockOperation.invokeModelWithBidirectionalStream.rawValue
        }
        return model.family.generatesText ? BedrockOperation.converse.rawValue : BedrockOperation.invokeModel.rawValue
    }

    private func anyModel(_ context: Context) throws(ServiceError) -> ModelDescriptor {
        guard let model = context.model else { throw .validation("The provided model identifier is invalid.") }
        return model
    }

    private func textModel(_ context: Context) throws(ServiceError) -> ModelDescriptor {
        let model = try anyModel(context)
        guard model.family.generatesText else {
            if model.family.servesAsyncInvoke || model.family.servesBidirectionalStream {
                throw .validation(Self.unsupported(model, context.operation))
            }
            throw .validation("The model \(model.id) doesn't support this operation. Try again with a text model.")
        }
        return model
    }

    private func generate(_ generation: GenerationRequest, context: inout Context, streaming: Bool)
        async throws(ServiceError) -> GeneratedTurn
    {
        try quotas.admit(model: generation.model.id, region: context.region)
        var turn: GeneratedTurn
        if let scripted = replies.match(
            operation: context.operation.rawValue, requestedModel: context.modelID,
            model: generation.model.id, lastUserText: generation.lastUserText)
        {
            if let code = scripted.error {
                let injected = ServiceError.injected(code, retryAfterMilliseconds: nil)
                throw ServiceError(
                    name: injected.name, status: injected.status, message: scripted.reply.message ?? injected.message)
            }
            turn = generator.scripted(scripted.reply, for: generation)
        } else {
            turn = generator.generate(generation)
        }
        if !generation.citations.isEmpty, turn.stopReason != .guardrailIntervened {
            turn.citations = generation.citations
        }
        if let prefix = generation.cachePrefix {
            let key = StableHash.of(context.region.utf8, seed: prefix.key)
            turn.applyCache(prefixTokens: prefix.tokens, read: promptCache.readOrWrite(key))
            turn.cacheTTL = prefix.ttl
        }
        quotas.charge(tokens: turn.totalTokens, model: generation.model.id, region: context.region)
        context.record.inputTokens = turn.inputTokens
        context.record.outputTokens = turn.outputTokens
        if !streaming, configuration.latencyPerToken > .zero {
            try? await Task.sleep(for: configuration.latencyPerToken * turn.outputTokens)
        }
        return turn
    }

    private func latencyMilliseconds(_ turn: GeneratedTurn) -> Int {
        let perToken = configuration.latencyPerToken.components
        let millis = Double(perToken.seconds) * 1000 + Double(perToken.attoseconds) / 1e15
        return max(1, Int(millis * Double(turn.outputTokens)))
    }

    // MARK: Responses

    private func jsonBody(_ request: EmulatorRequest, malformedStyle: Bool = false) throws(ServiceError) -> JSONValue {
        let bytes = request.body.readableBytesView
        guard !bytes.isEmpty else {
            throw malformedStyle
                ? .malformed("#: expected type: JSONObject, found: Null")
                : .validation("The request body is empty; a JSON object is required.")
        }
        guard let value = try? JSONParser.parse(bytes) else {
            throw malformedStyle
                ? .malformed("#: the body is not valid JSON") : .validation("The request body is not valid JSON.")
        }
        return value
    }

    /// Every answer carries `x-quarry-emulated: true`, so a test (or a cautious
    /// workflow) can tell an emulated answer from a real one.
    func headers(_ requestID: String, _ extra: [(String, String)]) -> [(String, String)] {
        [("x-amzn-RequestId", requestID), ("Date", dates.current), ("x-quarry-emulated", "true")] + extra
    }

    func json(_ value: JSONValue, requestID: String, status: Int = 200) -> EmulatorResponse {
        .complete(
            status: status, headers: headers(requestID, [("Content-Type", "application/json")]), body: value.serialized)
    }

    /// The answer to a request refused before it reached an operation: S3's XML error
    /// when its credential scope is `s3`, AWS's JSON error otherwise.
    func refusal(_ error: ServiceError, headers: HTTPHeaders?, requestID: String = "-") -> EmulatorResponse {
        if let headers,
            RequestAuthenticator.scopedService(
                EmulatorRequest(method: "", target: "", headers: headers, body: ByteBuffer())) == "s3"
        {
            return S3API(store: objects, service: self).errorResponse(
                S3API.authenticationError(error), requestID: requestID)
        }
        return errorResponse(error, requestID: requestID)
    }

    func errorResponse(_ error: ServiceError, requestID: String) -> EmulatorResponse {
        var extra = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "\(error.name):http://internal.amazon.com/coral/com.amazon.bedrock/"),
        ]
        if let retryAfter = error.retryAfterMilliseconds { extra.append(("x-amz-retry-after", String(retryAfter))) }
        return .complete(status: error.status, headers: headers(requestID, extra), body: error.body.serialized)
    }

    /// An event-stream response with the request's stream fault (if any) applied.
    private func stream(_ events: [(String, [UInt8])], contentTypeHeader: String?, context: Context) -> EmulatorResponse
    {
        var frames = events.map { EventFrames.event(type: $0.0, payload: $0.1) }
        var pacing = StreamPacing()
        pacing.delay = configuration.latencyPerToken
        if let fault = context.streamFault {
            switch fault.kind {
            case .exception:
                let n = min(fault.afterEvents ?? 1, frames.count)
                var payload: JSONValue = [
                    "message": .string(ServiceError.injected(fault.exception, retryAfterMilliseconds: nil).message)
                ]
                if fault.exception == .modelStreamError {
                    payload = [
                        "message": "Model stream error: the model returned an error mid-stream.",
                        "originalStatusCode": 500, "originalMessage": "Injected fault",
                    ]
                }
                if let code = fault.unmodelledErrorCode {
                    frames =
                        Array(frames.prefix(n)) + [
                            StreamErrorFrame.error(code: code, message: StreamFault.unmodelledErrorMessage(code))
                        ]
                } else {
                    frames =
                        Array(frames.prefix(n)) + [
                            EventFrames.exception(
                                memberName: fault.exception.streamMemberName, payload: payload.serialized)
                        ]
                }
            case .corruptCRC:
                let n = min(fault.afterEvents ?? 1, frames.count - 1)
                var broken = frames[n]
                broken[broken.count - 1] ^= 0xFF
                frames = Array(frames.prefix(n)) + [broken]
            case .truncate:
                let n = min(fault.afterEvents ?? 1, frames.count - 1)
                frames = Array(frames.prefix(n + 1))
                pacing.ending = .truncate(after: n)
            case .close:
                let n = min(
                    fault.afterEvents ?? max(0, frames.count - (context.operation == .converseStream ? 2 : 1)),
                    frames.count)
                frames = Array(frames.prefix(n))
                pacing.ending = .close(after: n)
            case .drip:
                pacing.delay = .milliseconds(fault.dripMilliseconds)
            }
        }
        var extra = [("Content-Type", "application/vnd.amazon.eventstream")]
        if let contentTypeHeader { extra.append(("X-Amzn-Bedrock-Content-Type", contentTypeHeader)) }
        return .stream(status: 200, headers: headers(context.requestID, extra), frames: frames, pacing: pacing)
    }
}

/// The `Date` header value, formatted once per second.
final class HTTPDateCache: Sendable {
    private struct Entry { var second: Int; var text: String }
    private let entry = Mutex(Entry(second: -1, text: ""))

    var current: String {
        let now = Date()
        let second = Int(now.timeIntervalSince1970)
        return entry.withLock { entry in
            if entry.second != second {
                entry = Entry(second: second, text: Self.format(now))
            }
            return entry.text
        }
    }

    private static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
