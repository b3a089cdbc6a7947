import Foundation
import Logging
import Synchronization

/// The `bedrock.*` and `stream.*` host functions: Bedrock calls, streams, clients,
/// identity and the budget. They run on the Lua thread, check the request and the policy
/// at once (so mistakes raise where they are made), and suspend the script with the call
/// to await; the prelude wraps them into `bedrock.*` and the stream and client objects.
struct BedrockBindings {
    let core: HostCore
    static let clientType = "BedrockClient"
    static let streamType = "BedrockStream"

    /// Adds `bedrock.*` and `stream.*` to `table`.
    func register(into table: inout HostFunctionTable) throws {
        try table.state.defineHandleType(Self.clientType, methods: [:])
        try table.state.defineHandleType(Self.streamType, methods: [:])
        func add(_ name: String, _ body: @escaping LuaHostFunction) { table.add(name, body) }
        add("bedrock.converse", converse)
        add("bedrock.stream", { self.streamOpen($0, operation: "ConverseStream") })
        add("bedrock.invoke_stream", { self.streamOpen($0, operation: "InvokeModelWithResponseStream") })
        add("stream.next", streamNext)
        add("stream.close", streamClose)
        add("bedrock.invoke", invoke)
        add("bedrock.count_tokens", countTokens)
        add("bedrock.apply_guardrail", applyGuardrail)
        add("bedrock.guardrail_checks", guardrailChecks)
        add("bedrock.start_async_invoke", startAsyncInvoke)
        add("bedrock.get_async_invoke", getAsyncInvoke)
        add("bedrock.list_async_invokes", listAsyncInvokes)
        add("bedrock.client", makeClient)
        add(
            "bedrock.models",
            { _ in .suspend(HostRequest.work { [core] in [.array(try await core.target.models().map(\.luaValue))] }) })
        add("bedrock.identity", identity)
        add("bedrock.budget", { [core] _ in .values([core.budgetReport]) })
        add("bedrock.default_model", { [core] _ in .values([core.defaultModel.map(LuaValue.string) ?? .nil]) })
        try BatchBindings(core: core).register(into: &table)
    }

    // MARK: plumbing

    private func settings(_ call: LuaHostCall) throws(ScriptError) -> ClientSettings {
        switch call.argument(1) {
        case .nil: return ClientSettings()
        case .handle(let h) where h.typeName == Self.clientType:
            guard let s = call.state.object(for: h) as? ClientSettings else {
                throw ScriptError(code: .validationError, message: "\(call.name): unknown client handle")
            }
            return s
        default:
            throw ScriptError(
                code: .validationError, message: "\(call.name): the first argument must be a client (use c:method{…})")
        }
    }

    /// Checks, reserves and suspends; `body` runs the call and returns the script's value
    /// with what the record needs.
    private func bedrockCall(
        _ call: LuaHostCall, operation: String, model: String?, maxTokens: Int?,
        inputTokens: Int = 0, requestBytes: Int = 0, settings: ClientSettings, requestBody: [UInt8]? = nil,
        body: @escaping @Sendable (BedrockRuntimeClient) async throws -> Outcome
    ) -> LuaHostResult {
        let context = core.auditor == nil ? nil : AuditContext(call, settings: settings, requestBody: requestBody)
        do throws(ScriptError) {
            try core.checkAuditable()
            if let model { try core.policy.checkModel(model) }
            try core.checkWillCall(operation: operation, model: model, region: settings.region ?? core.target.region)
            let reserved = try core.reserve(maxTokens: maxTokens, inputTokens: inputTokens, requestBytes: requestBytes)
            let core = self.core
            let run = core.currentRun
            let light =
                context == nil && requestBytes > 0 && requestBytes <= Self.lightRequestBytes
                && core.target.middlewares.allSatisfy { $0 is any NonBlockingTransportMiddleware }
            let work: @Sendable () async throws -> [LuaValue] = {
                await core.gate.acquire()
                defer { core.gate.release() }
                run.events?.emit(.callStarted(operation: operation, model: model))
                if context != nil { await core.prepareAuditPrincipal(settings) }
                let started = Date()
                let clock = ContinuousClock.now
                let region = settings.region ?? core.target.region
                do {
                    let client = try core.client(settings)
                    let outcome = try await body(client)
                    // What the service reported; a generating call that reported nothing keeps
                    // its whole reservation (never free).
                    let generates = operation == "InvokeModel" || operation == "Converse"
                    core.settle(
                        reserved, reported: outcome.tokens.map { ($0.0, $0.1) }, refusedWithoutOutput: !generates)
                    let record = CallRecord(
                        operation: operation, model: model, region: region, started: started,
                        duration: ContinuousClock.now - clock, attempts: outcome.attempts, errorCode: nil,
                        inputTokens: outcome.tokens?.0, outputTokens: outcome.tokens?.1,
                        requestId: outcome.requestId, runId: run.id)
                    if let sink = run.events { for event in outcome.events { sink.emit(event) } }
                    await core.notify(record, events: run.events)
                    if let context { core.audit(record, context, responseBody: outcome.responseBody) }
                    return [outcome.value]
                } catch {
                    core.settle(
                        reserved, reported: nil, refusedWithoutOutput: TokenSettlement.isServiceRefusal(error))
                    let scriptError = ScriptError.from(error)
                    let record = CallRecord(
                        operation: operation, model: model, region: region, started: started,
                        duration: ContinuousClock.now - clock, attempts: scriptError.attempts,
                        errorCode: scriptError.code.rawValue, requestId: scriptError.requestId,
                        runId: run.id)
                    await core.notify(record, events: run.events)
                    if let context { core.audit(record, context, responseBody: nil) }
                    throw scriptError
                }
            }
            return .suspend(light ? HostRequest.lightCall(work) : HostRequest.work(work))
        } catch {
            return refused(error, operation: operation, model: model, context: context)
        }
    }

    /// The largest request (the bytes of its strings) a call may make from the script's
    /// own thread (`HostRequest.lightCall`): escaping, encoding and signing it stay short.
    static let lightRequestBytes = 64 << 10

    /// The script's error for a call refused before it was sent; a policy refusal is
    /// audited first (the script waits for the record, so it is on disk before it goes on).
    private func refused(_ error: ScriptError, operation: String, model: String?, context: AuditContext?)
        -> LuaHostResult
    {
        guard let context, error.code == .policyViolation else { return .error(error.luaValue) }
        let core = self.core
        return .suspend(
            HostRequest.work { () async throws -> [LuaValue] in
                await core.prepareAuditPrincipal(context.settings)
                core.auditRefusal(error, operation: operation, model: model, context: context)
                throw error
            })
    }

    struct Outcome: Sendable {
        var value: LuaValue
        var attempts: [AttemptRecord]
        var requestId: String?
        var tokens: (Int, Int)?
        /// The response body, for the audit log's digest (or content).
        var responseBody: [UInt8]? = nil
        /// What a run's event sequence shows of the answer (text, reasoning, tool uses).
        var events: [RunEvent] = []
    }

    private func request(_ call: LuaHostCall, known: Set<String>? = nil) throws(ScriptError) -> (
        RequestBuilder, [String: LuaValue]
    ) {
        let builder = RequestBuilder(function: call.name, defaultModel: core.defaultModel)
        let args = try builder.table(call.argument(2))
        if let known {
            for key in args.keys where !known.contains(key) {
                throw builder.fail("unknown field '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
        for key in ["on_text", "on_event"] {
            if let v = args[key], v != .nil {
                guard case .function = v else { throw builder.fail("'\(key)' must be a function") }
            }
        }
        return (builder, args)
    }

    /// The most attempts a script may ask a client for.
    static let maxAttempts: Int64 = 100

    static let invokeFields: Set<String> = [
        "model", "body", "accept", "content_type", "timeout", "first_byte_timeout",
        "idle_timeout", "stream_retry", "on_event",
    ]

    /// The output-token cap an InvokeModel body asks for, in any family's spelling: the
    /// largest value under any of those names (a body that repeats a key, or spells the
    /// cap two ways, reserves for the larger, whichever one the model reads).
    static func invokeMaxTokens(_ body: Data) -> Int? {
        guard case .object(let top)? = LuaJSON.parsedIfWithinParseBound(body) else { return nil }
        let names: Set<String> = [
            "max_tokens", "maxTokens", "max_gen_len", "maxTokenCount", "max_new_tokens",
            "max_completion_tokens", "max_output_tokens",
        ]
        var caps = top.compactMap { names.contains($0.0) ? $0.1.intValue : nil }
        for case (let key, .object(let nested)) in top
        where ["textGenerationConfig", "inferenceConfig", "parameters"].contains(key) {
            caps += nested.compactMap { names.contains($0.0) ? $0.1.intValue : nil }
        }
        // Kept within 0...Int32.max (the service's own type), so a script's 2^63 cannot
        // overflow the budget's sums.
        return caps.max().map { min(max($0, 0), Int(Int32.max)) }
    }

    /// A script's `content_type`/`accept`: an HTTP header value the signer and the
    /// service see exactly as written: visible ASCII and inner spaces, at most 256 bytes.
    /// Control characters, CR/LF, non-ASCII (which signers trim or fold differently) and
    /// edge spaces are refused, so no request can be made to fail its signature check.
    static func headerValue(_ args: [String: LuaValue], _ key: String, _ builder: RequestBuilder) throws(ScriptError)
        -> String
    {
        guard let value = args[key], value != .nil else { return "application/json" }
        guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 256,
            text.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }),
            !text.hasPrefix(" "), !text.hasSuffix(" ")
        else {
            throw builder.fail(
                "'\(key)' must be a media type of visible ASCII characters (at most 256, no control characters, line breaks or non-ASCII)"
            )
        }
        return text
    }

    static func callOptions(_ args: [String: LuaValue], builder: RequestBuilder) throws(ScriptError) -> CallOptions {
        var options = CallOptions()
        func seconds(_ key: String) throws(ScriptError) -> Duration? {
            guard let v = args[key], v != .nil else { return nil }
            return try ScriptNumber.duration(v, function: builder.function, field: key, positive: true)
        }
        options.totalTimeout = try seconds("timeout")
        options.firstByteTimeout = try seconds("first_byte_timeout")
        options.idleTimeout = try seconds("idle_timeout")
        switch args["stream_retry"] {
        case nil, .nil?: break
        case .string("restart")?: options.streamRetry = .restart
        case .string("fail")?: options.streamRetry = .failWithPartialResult
        default: throw builder.fail("'stream_retry' must be \"restart\" or \"fail\"")
        }
        return options
    }

    // MARK: operations

    private func converse(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(call)
            let (encoded, maxTokens) = try builder.encodedConverse(args)
            let options = try Self.callOptions(args, builder: builder)
            let model = encoded.request.modelId
            let structured = encoded.request.outputConfig?.textFormat != nil
            let audited = core.auditor != nil
            let measure = TokenEstimate.converseMeasure(encoded.json)
            return bedrockCall(
                call, operation: "Converse", model: model, maxTokens: maxTokens,
                inputTokens: measure.tokens, requestBytes: measure.bytes, settings: try settings(call),
                requestBody: audited ? JSONWriter.compact.bytes(encoded.json) : nil
            ) { client in
                let clock = ContinuousClock.now
                let result = try await client.converse(encoded, options: options)
                let u = result.output.usage
                var value = ResponseTables.converse(result, model: model, elapsed: ContinuousClock.now - clock)
                if structured { value = ResponseTables.withJSON(value) }
                return Outcome(
                    value: value, attempts: result.attempts, requestId: result.requestId,
                    tokens: (u.inputTokens, u.outputTokens),
                    responseBody: audited ? AuditContext.json(result.output) : nil,
                    events: RunEventTranslator.events(of: result.output))
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    private func streamOpen(_ call: LuaHostCall, operation: String) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(call)
            let settings = try settings(call)
            let pump = StreamPump()
            let core = self.core
            let model: String
            let maxTokens: Int?
            let region = settings.region ?? core.target.region
            let started = Date()
            let clock = ContinuousClock.now
            let options = try Self.callOptions(args, builder: builder)
            try core.checkAuditable()
            if operation == "ConverseStream" {
                let (encoded, tokens) = try builder.encodedConverse(args)
                let structured = encoded.request.outputConfig?.textFormat != nil
                model = encoded.request.modelId
                maxTokens = tokens
                let context =
                    core.auditor == nil
                    ? nil : AuditContext(call, settings: settings, requestBody: JSONWriter.compact.bytes(encoded.json))
                do throws(ScriptError) {
                    try core.policy.checkModel(model)
                    try core.checkWillCall(operation: operation, model: model, region: region)
                } catch { return refused(error, operation: operation, model: model, context: context) }
                let reserved: HostCore.Reservation
                do throws(ScriptError) {
                    let measure = TokenEstimate.converseMeasure(encoded.json)
                    reserved = try core.reserve(
                        maxTokens: maxTokens, inputTokens: measure.tokens, requestBytes: measure.bytes)
                } catch { return refused(error, operation: operation, model: model, context: context) }
                let run = core.currentRun
                let translator = RunEventTranslator(sink: run.events)
                pump.start(
                    open: {
                        await core.gate.acquire()
                        run.events?.emit(.callStarted(operation: operation, model: model))
                        if context != nil { await core.prepareAuditPrincipal(settings) }
                        return try core.client(settings).converseStream(encoded, options: options)
                    },
                    write: { event, writer throws(LuaConversionError) in
                        translator.see(event)
                        try ResponseTables.writeEvent(event, into: &writer)
                    },
                    finish: { stream, error in
                        core.gate.release()
                        core.untrack(pump)
                        let snapshot = stream?.partialResult ?? ConverseStreamResult()
                        let attempts = stream?.attempts ?? []
                        let tokens = snapshot.usage.map { ($0.inputTokens, $0.outputTokens) }
                        core.settle(
                            reserved, reported: tokens.map { ($0.0, $0.1) },
                            refusedWithoutOutput: error.map(TokenSettlement.isServiceRefusal) == true
                                && snapshot.content.isEmpty)
                        let failure = error.map(ScriptError.from)
                        let record = CallRecord(
                            operation: operation, model: model, region: region, started: started,
                            duration: ContinuousClock.now - clock,
                            attempts: (failure?.attempts).flatMap { $0.isEmpty ? nil : $0 } ?? attempts,
                            errorCode: pump.stoppedBy?.rawValue ?? failure?.code.rawValue, inputTokens: tokens?.0,
                            outputTokens: tokens?.1,
                            requestId: stream?.requestId, runId: run.id)
                        await core.notify(record, events: run.events)
                        if let context {
                            core.audit(
                                record, context,
                                responseBody: failure == nil ? AuditContext.json(snapshot.content) : nil)
                        }
                        if let failure { return (nil, failure) }
                        let result = ResponseTables.streamResult(
                            snapshot, attempts: attempts, requestId: stream?.requestId,
                            model: model, elapsed: ContinuousClock.now - clock)
                        return (structured ? ResponseTables.withJSON(result) : result, nil)
                    })
            } else {
                for key in args.keys where !Self.invokeFields.contains(key) {
                    throw builder.fail(
                        "unknown field '\(key)' (known: \(Self.invokeFields.sorted().joined(separator: ", ")))")
                }
                model = try builder.model(args)
                let body = try builder.invokeBody(args)
                let context =
                    core.auditor == nil ? nil : AuditContext(call, settings: settings, requestBody: Array(body))
                do throws(ScriptError) {
                    try core.policy.checkModel(model)
                    try core.checkWillCall(operation: operation, model: model, region: region)
                } catch { return refused(error, operation: operation, model: model, context: context) }
                let reserved: HostCore.Reservation
                do throws(ScriptError) {
                    reserved = try core.reserve(
                        maxTokens: Self.invokeMaxTokens(body), inputTokens: TokenEstimate.invoke(body),
                        requestBytes: body.count)
                } catch { return refused(error, operation: operation, model: model, context: context) }
                let metrics = InvocationMetricsBox()
                let request = InvokeModelRequest(
                    modelId: model, body: body,
                    contentType: try Self.headerValue(args, "content_type", builder),
                    accept: try Self.headerValue(args, "accept", builder))
                let run = core.currentRun
                pump.start(
                    open: {
                        await core.gate.acquire()
                        run.events?.emit(.callStarted(operation: operation, model: model))
                        if context != nil { await core.prepareAuditPrincipal(settings) }
                        return try core.client(settings).invokeModelWithResponseStream(request, options: options)
                    },
                    write: { event, writer throws(LuaConversionError) in
                        metrics.see(event)
                        try writer.append(ResponseTables.chunkEvent(event))
                    },
                    finish: { stream, error in
                        core.gate.release()
                        core.untrack(pump)
                        // Settled from `amazon-bedrock-invocationMetrics` in the last chunk; a
                        // stream that produced output without it keeps its whole reservation.
                        let reported = metrics.current
                        let tokens = reported.flatMap { m in
                            m.inputTokens.flatMap { i in m.outputTokens.map { (i, $0) } }
                        }
                        core.settle(
                            reserved, reported: tokens.map { ($0.0, $0.1) },
                            refusedWithoutOutput: !metrics.sawChunks
                                && error.map(TokenSettlement.isServiceRefusal) == true)
                        let failure = error.map(ScriptError.from)
                        let record = CallRecord(
                            operation: operation, model: model, region: region, started: started,
                            duration: ContinuousClock.now - clock,
                            attempts: stream?.attempts ?? failure?.attempts ?? [],
                            errorCode: pump.stoppedBy?.rawValue ?? failure?.code.rawValue, inputTokens: tokens?.0,
                            outputTokens: tokens?.1,
                            requestId: stream?.requestId, runId: run.id)
                        await core.notify(record, events: run.events)
                        if let context { core.audit(record, context, responseBody: nil) }
                        if let failure { return (nil, failure) }
                        var m: [String: LuaValue] = [
                            "attempts": .integer(Int64(stream?.attempts.count ?? 0)),
                            "attempt_log": AttemptLog.lua(stream?.attempts ?? []), "model": .string(model),
                        ]
                        if let id = stream?.requestId { m["request_id"] = .string(id) }
                        if let reported { m["usage"] = Self.usageTable(reported) }
                        return (.map(m), nil)
                    })
            }
            core.track(pump)
            return .values([call.state.makeHandle(type: Self.streamType, label: model, object: pump)])
        } catch {
            return .error(error.luaValue)
        }
    }

    private func pump(_ call: LuaHostCall) -> StreamPump? {
        guard case .handle(let h) = call.argument(1), h.typeName == Self.streamType else { return nil }
        return call.state.object(for: h) as? StreamPump
    }

    private func streamNext(_ call: LuaHostCall) -> LuaHostResult {
        guard let pump = pump(call) else { return .failure("stream: not a stream handle") }
        return .suspend(
            HostRequest.work {
                let batch = await pump.next()
                var m: [String: LuaValue] = [
                    "events": batch.events,
                    "done": .boolean(batch.finished),
                ]
                if let r = batch.result { m["result"] = r }
                if let e = batch.failure { m["error"] = e.luaValue }
                return [.map(m)]
            })
    }

    private func streamClose(_ call: LuaHostCall) -> LuaHostResult {
        if let pump = pump(call) { pump.cancel(.closed); core.untrack(pump) }
        return .values([])
    }

    private func invoke(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(call, known: Self.invokeFields)
            let model = try builder.model(args)
            let body = try builder.invokeBody(args)
            let request = InvokeModelRequest(
                modelId: model, body: body,
                contentType: try Self.headerValue(args, "content_type", builder),
                accept: try Self.headerValue(args, "accept", builder))
            let options = try Self.callOptions(args, builder: builder)
            let audited = core.auditor != nil
            let maxItems = call.state.argumentLimits.maxItems
            return bedrockCall(
                call, operation: "InvokeModel", model: model, maxTokens: Self.invokeMaxTokens(body),
                inputTokens: TokenEstimate.invoke(body), requestBytes: body.count, settings: try settings(call),
                requestBody: audited ? Array(body) : nil
            ) { client in
                let result = try await client.invokeModel(request, options: options)
                return try await CallExecutor.decode(answerOf: result.output.body.count) {
                    Self.invokeOutcome(result, model: model, maxItems: maxItems, audited: audited)
                }
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    /// InvokeModel's answer as the script sees it: the body as text (or bytes), its JSON
    /// parsed when it holds at most `maxItems` values, the usage headers.
    private static func invokeOutcome(
        _ result: BedrockResult<InvokeModelResponse>, model: String, maxItems: Int, audited: Bool
    ) -> Outcome {
        var m: [String: LuaValue] = [
            "content_type": .string(result.output.contentType),
            "attempts": .integer(Int64(result.attempts.count)),
            "attempt_log": AttemptLog.lua(result.attempts),
            "model": .string(model),
        ]
        if let text = String(data: result.output.body, encoding: .utf8) {
            m["body"] = .string(text)
        } else {
            m["body"] = .bytes(Array(result.output.body))
        }
        // A hostile or runaway answer of many tiny values is not parsed: its tree would
        // cost far more memory than its bytes, outside the sandbox's cap.
        if !JSONStructure.holdsAtMost(maxItems, valuesIn: result.output.body) {
            m["json_error"] = .string(
                "the answer holds more than \(maxItems) JSON values, more than a script's value may hold: "
                    + "not parsed (r.body has its text)")
        } else if let json = try? result.output.json() {
            m["json"] = LuaJSON.lua(from: json)
        }
        if let id = result.requestId { m["request_id"] = .string(id) }
        let usage = result.output.usage
        if let usage { m["usage"] = Self.usageTable(usage) }
        return Outcome(
            value: .map(m), attempts: result.attempts, requestId: result.requestId,
            tokens: usage.flatMap { u in u.inputTokens.flatMap { i in u.outputTokens.map { (i, $0) } } },
            responseBody: audited ? Array(result.output.body) : nil)
    }

    private func countTokens(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(call, known: ["model", "messages", "system", "body"])
            let model = try builder.model(args)
            let input: JSONValue
            if args["body"] != nil {
                input = .object([
                    ("invokeModel", .object([("body", .string(try builder.invokeBody(args).base64EncodedString()))]))
                ])
            } else {
                var converse: [(String, JSONValue)] = [("messages", try builder.messages(args["messages"] ?? .nil))]
                if let system = args["system"], system != .nil {
                    converse.append(("system", try builder.systemBlocks(system)))
                }
                input = .object([("converse", .object(converse))])
            }
            let request: CountTokensRequest
            do {
                request = try JSONValueDecoder().decode(
                    CountTokensRequest.self, from: .object([("modelId", .string(model)), ("input", input)]))
            } catch {
                throw builder.fail("the request does not have the CountTokens shape: \(error)")
            }
            return bedrockCall(call, operation: "CountTokens", model: model, maxTokens: 0, settings: try settings(call))
            { client in
                let result = try await client.countTokens(request)
                var m: [String: LuaValue] = ["input_tokens": .integer(Int64(result.output.inputTokens))]
                Self.addCallFields(&m, result.attempts, result.requestId)
                return Outcome(value: .map(m), attempts: result.attempts, requestId: result.requestId, tokens: nil)
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    private func applyGuardrail(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(
                call,
                known: [
                    "guardrail", "id", "version", "guardrail_id", "guardrail_version",
                    "source", "content",
                ])
            var id = args["id"]?.stringValue ?? args["guardrail_id"]?.stringValue
            var version = args["version"]?.stringValue ?? args["guardrail_version"]?.stringValue
            if case .map(let g)? = args["guardrail"] {
                id = id ?? (g["id"] ?? g["identifier"])?.stringValue
                version = version ?? g["version"]?.stringValue
            }
            guard let id else { throw builder.fail("'guardrail' = {id=…, version=…} is required") }
            let source = (args["source"]?.stringValue ?? "INPUT").uppercased()
            guard source == "INPUT" || source == "OUTPUT" else {
                throw builder.fail("'source' must be \"input\" or \"output\"")
            }
            let content: JSONValue
            switch args["content"] {
            case .string(let text)?: content = .array([.object([("text", .object([("text", .string(text))]))])])
            case .array(let items)?:
                content = .array(
                    try items.map { item throws(ScriptError) in
                        if let t = item.stringValue { return .object([("text", .object([("text", .string(t))]))]) }
                        return try LuaJSON.json(from: item, path: "\(call.name): content")
                    })
            default: throw builder.fail("'content' must be a string or a list of strings")
            }
            let body: JSONValue = .object([
                ("guardrailIdentifier", .string(id)), ("guardrailVersion", .string(version ?? "DRAFT")),
                ("source", .string(source)), ("content", content),
            ])
            let request: ApplyGuardrailRequest
            do { request = try JSONValueDecoder().decode(ApplyGuardrailRequest.self, from: body) } catch {
                throw builder.fail("the request does not have the ApplyGuardrail shape: \(error)")
            }
            return bedrockCall(
                call, operation: "ApplyGuardrail", model: nil, maxTokens: 0, settings: try settings(call)
            ) { client in
                let result = try await client.applyGuardrail(request)
                return Self.serviceShaped(result)
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    /// `bedrock.guardrail_checks{messages=, content_filter=, prompt_attack=,
    /// sensitive_information=}`: InvokeGuardrailChecks. `messages` is a string (one user
    /// message) or a list of `{role=, content=}` (content a string or list of strings);
    /// each check is a list of category / entity names (any case). The result is the
    /// service's answer with snake_case keys.
    private func guardrailChecks(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(
                call,
                known: [
                    "messages", "content_filter", "prompt_attack",
                    "sensitive_information",
                ])
            func texts(_ value: LuaValue?, _ path: String) throws(ScriptError) -> [GuardrailChecksContentBlock] {
                switch value {
                case .string(let text)?: return [.text(text)]
                case .array(let items)?:
                    return try items.enumerated().map { index, item throws(ScriptError) in
                        guard let text = item.stringValue else {
                            throw builder.fail("'\(path)[\(index + 1)]' must be a string")
                        }
                        return .text(text)
                    }
                default: throw builder.fail("'\(path)' must be a string or a list of strings")
                }
            }
            var messages: [GuardrailChecksMessage] = []
            switch args["messages"] {
            case .string(let text)?: messages = [GuardrailChecksMessage(role: .user, text: text)]
            case .array(let items)?:
                for (index, item) in items.enumerated() {
                    guard case .map(let m) = item else {
                        throw builder.fail("'messages[\(index + 1)]' must be a table {role=, content=}")
                    }
                    let role = (m["role"]?.stringValue ?? "user").uppercased()
                    guard ["USER", "ASSISTANT", "SYSTEM"].contains(role) else {
                        throw builder.fail(
                            "'messages[\(index + 1)].role' must be \"user\", \"assistant\" or \"system\"")
                    }
                    messages.append(
                        GuardrailChecksMessage(
                            role: GuardrailChecksRole(rawValue: role),
                            content: try texts(m["content"], "messages[\(index + 1)].content")))
                }
            default: throw builder.fail("'messages' must be a string or a list of {role=, content=}")
            }
            guard !messages.isEmpty else { throw builder.fail("'messages' must not be empty") }
            func names(_ key: String) throws(ScriptError) -> [String]? {
                switch args[key] {
                case nil, .nil?: return nil
                case .string(let name)?: return [name.uppercased()]
                case .array(let items)?:
                    return try items.enumerated().map { index, item throws(ScriptError) in
                        guard let name = item.stringValue else {
                            throw builder.fail("'\(key)[\(index + 1)]' must be a string")
                        }
                        return name.uppercased()
                    }
                default: throw builder.fail("'\(key)' must be a list of names")
                }
            }
            let checks = GuardrailChecksConfig(
                contentFilter: try names("content_filter").map { GuardrailChecksContentFilterConfig(categories: $0) },
                promptAttack: try names("prompt_attack").map { GuardrailChecksPromptAttackConfig(categories: $0) },
                sensitiveInformation: try names("sensitive_information").map {
                    GuardrailChecksSensitiveInformationConfig(entities: $0)
                })
            guard checks.contentFilter != nil || checks.promptAttack != nil || checks.sensitiveInformation != nil else {
                throw builder.fail("set at least one of 'content_filter', 'prompt_attack' or 'sensitive_information'")
            }
            let request = InvokeGuardrailChecksRequest(messages: messages, checks: checks)
            return bedrockCall(
                call, operation: "InvokeGuardrailChecks", model: nil, maxTokens: 0, settings: try settings(call)
            ) { client in
                Self.serviceShaped(try await client.invokeGuardrailChecks(request))
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    private func startAsyncInvoke(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let (builder, args) = try request(
                call, known: ["model", "input", "output_s3_uri", "s3_uri", "client_request_token"])
            let model = try builder.model(args)
            guard let uri = args["output_s3_uri"]?.stringValue ?? args["s3_uri"]?.stringValue else {
                throw builder.fail("'output_s3_uri' is required (s3://bucket/prefix)")
            }
            var body: [(String, JSONValue)] = [
                ("modelId", .string(model)),
                ("modelInput", try LuaJSON.json(from: args["input"] ?? .map([:]), path: "\(call.name): input")),
                ("outputDataConfig", .object([("s3OutputDataConfig", .object([("s3Uri", .string(uri))]))])),
            ]
            if let token = args["client_request_token"]?.stringValue {
                body.append(("clientRequestToken", .string(token)))
            }
            let request: StartAsyncInvokeRequest
            do { request = try JSONValueDecoder().decode(StartAsyncInvokeRequest.self, from: .object(body)) } catch {
                throw builder.fail("the request does not have the StartAsyncInvoke shape: \(error)")
            }
            return bedrockCall(
                call, operation: "StartAsyncInvoke", model: model, maxTokens: 0, settings: try settings(call)
            ) { client in
                let result = try await client.startAsyncInvoke(request)
                var m: [String: LuaValue] = ["invocation_arn": .string(result.output.invocationArn)]
                Self.addCallFields(&m, result.attempts, result.requestId)
                return Outcome(value: .map(m), attempts: result.attempts, requestId: result.requestId, tokens: nil)
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    private func getAsyncInvoke(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let arn: String
            switch call.argument(2) {
            case .string(let s): arn = s
            case .map(let m) where m["invocation_arn"]?.stringValue != nil:
                arn = m["invocation_arn"]?.stringValue ?? ""
            default: throw ScriptError(code: .validationError, message: "\(call.name): expected an invocation ARN")
            }
            return bedrockCall(
                call, operation: "GetAsyncInvoke", model: nil, maxTokens: 0, settings: try settings(call)
            ) { client in
                let result = try await client.getAsyncInvoke(invocationArn: arn)
                return Self.serviceShaped(result)
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    private func listAsyncInvokes(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            var request = ListAsyncInvokesRequest()
            if case .map(let m) = call.argument(2) {
                let known: Set<String> = ["status", "max_results", "next_token"]
                for key in m.keys where !known.contains(key) {
                    throw ScriptError(
                        code: .validationError,
                        message:
                            "\(call.name): unknown field '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
                }
                if let s = m["status"]?.stringValue { request.statusEquals = AsyncInvokeStatus(rawValue: s) }
                if let n = m["max_results"], n != .nil {
                    request.maxResults = try ScriptNumber.count(
                        n, function: call.name, field: "max_results", in: 1...1000)
                }
                if let t = m["next_token"]?.stringValue { request.nextToken = t }
            }
            let finalRequest = request
            return bedrockCall(
                call, operation: "ListAsyncInvokes", model: nil, maxTokens: 0, settings: try settings(call)
            ) { client in
                let result = try await client.listAsyncInvokes(finalRequest)
                return Self.serviceShaped(result)
            }
        } catch {
            return .error(error.luaValue)
        }
    }

    /// `usage = {input_tokens=…, output_tokens=…, latency_ms=…, first_byte_latency_ms=…}`
    /// of an InvokeModel result, from what the service reported.
    static func usageTable(_ usage: InvocationMetrics) -> LuaValue {
        var m: [String: LuaValue] = [:]
        if let n = usage.inputTokens { m["input_tokens"] = .integer(Int64(n)) }
        if let n = usage.outputTokens { m["output_tokens"] = .integer(Int64(n)) }
        if let n = usage.inputTokens, let o = usage.outputTokens { m["total_tokens"] = .integer(Int64(n + o)) }
        if let n = usage.invocationLatencyMs { m["latency_ms"] = .integer(Int64(n)) }
        if let n = usage.firstByteLatencyMs { m["first_byte_latency_ms"] = .integer(Int64(n)) }
        return .map(m)
    }

    /// Every result carries how it was obtained: attempts (count), the attempt log and
    /// the request id.
    static func addCallFields(_ m: inout [String: LuaValue], _ attempts: [AttemptRecord], _ requestId: String?) {
        m["attempts"] = .integer(Int64(attempts.count))
        m["attempt_log"] = AttemptLog.lua(attempts)
        if let requestId { m["request_id"] = .string(requestId) }
    }

    /// A result whose output is the service's JSON with snake_case keys, plus the call fields.
    static func serviceShaped<Output: Encodable & Sendable>(_ result: BedrockResult<Output>) -> Outcome {
        var value = ResponseTables.snakeCased((try? JSONValueEncoder().encode(result.output)) ?? .object([]))
        if case .map(var m) = value {
            addCallFields(&m, result.attempts, result.requestId)
            value = .map(m)
        }
        return Outcome(value: value, attempts: result.attempts, requestId: result.requestId, tokens: nil)
    }

    // MARK: clients and identity

    private func makeClient(_ call: LuaHostCall) -> LuaHostResult {
        let builder = RequestBuilder(function: "bedrock.client", defaultModel: nil)
        do throws(ScriptError) {
            var settings = ClientSettings()
            switch call.argument(1) {
            case .nil: break
            case .map(let m):
                let known: Set<String> = ["region", "profile", "endpoint", "retry", "timeout"]
                for key in m.keys where !known.contains(key) {
                    throw builder.fail("unknown field '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
                }
                settings.region = m["region"]?.stringValue
                settings.profile = m["profile"]?.stringValue
                settings.endpoint = m["endpoint"]?.stringValue
                if let t = m["timeout"] {
                    settings.timeoutSeconds = try ScriptNumber.seconds(
                        t, function: "bedrock.client", field: "timeout", positive: true)
                }
                if case .map(let r)? = m["retry"] {
                    if let mode = r["mode"]?.stringValue {
                        guard let parsed = RetryMode(rawValue: mode) else {
                            throw builder.fail("retry.mode must be \"standard\", \"adaptive\" or \"legacy\"")
                        }
                        settings.retryMode = parsed
                    }
                    if let n = r["max_attempts"] {
                        settings.maxAttempts = try ScriptNumber.count(
                            n, function: "bedrock.client", field: "retry.max_attempts",
                            in: 1...Self.maxAttempts)
                    }
                }
            default:
                throw builder.fail("expected a table such as {region=\"us-west-2\"}")
            }
            if let region = settings.region {
                let served =
                    core.target.servedRegions.map { "; this target serves \($0.joined(separator: ", "))" } ?? ""
                guard AWSRegion.isValid(region) else {
                    throw builder.fail("'\(TerminalText.escaped(region))' is not a valid AWS region name\(served)")
                }
                if let regions = core.target.servedRegions, !regions.contains(region) {
                    throw builder.fail("region '\(region)' is not one this target serves\(served)")
                }
            }
            settings.endpoint = try core.policy.checkClient(
                region: settings.region, profile: settings.profile,
                endpoint: settings.endpoint)
            try core.admit(settings)
            _ = try? core.client(settings)
            let label = settings.region ?? core.target.region
            return .values([
                call.state.makeHandle(type: Self.clientType, label: label, object: settings),
                .string(label),
            ])
        } catch {
            return .error(error.luaValue)
        }
    }

    private func identity(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let settings = try settings(call)
            let core = self.core
            return .suspend(
                HostRequest.work {
                    // The same client, and so the same cached credentials, that calls use.
                    var identity: CallerIdentity
                    do {
                        identity = await core.target.identity(
                            using: try core.client(settings), profile: settings.profile)
                    } catch {
                        identity = CallerIdentity(
                            region: settings.region ?? core.target.region,
                            error: ScriptError.from(error).message)
                    }
                    if let region = settings.region { identity.region = region }
                    return [identity.luaValue]
                })
        } catch {
            return .error(error.luaValue)
        }
    }
}

/// The invocation metrics an InvokeModelWithResponseStream call reported, as its chunks
/// pass to the script (a restart forgets the earlier attempt's).
final class InvocationMetricsBox: @unchecked Sendable {
    private let lock = Mutex(())
    private var metrics: InvocationMetrics?
    private var chunks = false

    func see(_ event: ResponseStreamEvent) {
        switch event {
        case .chunk(let data):
            let found = InvocationMetrics.fromChunk(data)
            lock.withLock { _ in
                chunks = true
                if let found { metrics = found }
            }
        case .restarted: lock.withLock { _ in metrics = nil }
        case .unknown: break
        }
    }

    var current: InvocationMetrics? { lock.withLock { _ in metrics } }
    var sawChunks: Bool { lock.withLock { _ in chunks } }
}
