import BedrockBatch
import Foundation
import Synchronization

/// The `bedrock.batch_*` host functions behind `bedrock.batch{…}` (Bedrock batch
/// inference): submit (write the records as JSONL to S3, create the job), status,
/// stop and results. Every option is checked, and every bucket and role against the
/// host policy, on the Lua thread before anything is sent; credentials and URLs stay
/// in Swift (scripts see job ids, `s3://` locations and results only).
struct BatchBindings {
    let core: HostCore
    static let jobType = "BatchJob"
    static let function = "bedrock.batch"

    /// The service's fewest records per job (its "Minimum number of records per batch
    /// inference job" quota; the emulator's `batch_minimum_records` default).
    static let minimumRecords = 100
    /// The service's most records per job.
    static let maximumRecords = 50_000
    /// The most bytes of JSONL a script may submit at once (one PutObject).
    static let maxInputBytes = 256 << 20
    /// The most bytes of results a job's handle reads and keeps.
    static let maxResultBytes = 256 << 20
    /// Results handed to Lua per host call.
    static let resultsPage = 200

    static let fields: Set<String> = [
        "model", "records", "input", "output", "role_arn", "name", "timeout_hours", "format", "on_progress",
    ]

    func register(into table: inout HostFunctionTable) throws {
        try table.state.defineHandleType(Self.jobType, methods: [:])
        table.add("bedrock.batch_submit", submit)
        table.add("bedrock.batch_status", status)
        table.add("bedrock.batch_stop", stop)
        table.add("bedrock.batch_results", results)
        table.add("bedrock.batch_attach", attach)
        // `job:wait()`'s default seconds between checks: an emulator's jobs take seconds, AWS's hours.
        table.add("bedrock.batch_poll", { [core] _ in .values([.integer(core.target.isEmulator ? 1 : 30)]) })
    }

    /// `bedrock.batch_job{id=, output=}`: a handle on an existing job (by id or ARN),
    /// e.g. one submitted by an earlier run. The job is fetched first
    /// (GetModelInvocationJob): its role and output folder must be allowed by the host
    /// policy as a new job's would be (deny-by-default covers other jobs too), and its
    /// real name is what the handle reports. `output` defaults to that folder; given, it
    /// is checked by the policy and must be that folder (see `settleOutput`).
    private func attach(_ call: LuaHostCall) -> LuaHostResult {
        let function = "bedrock.batch_job"
        do throws(ScriptError) {
            let builder = RequestBuilder(function: function, defaultModel: nil)
            let args = try builder.table(call.argument(1))
            for key in args.keys where !["id", "output"].contains(key) {
                throw builder.fail("unknown field '\(key)' (known: id, output)")
            }
            guard case .string(let text)? = args["id"] else {
                throw builder.fail("'id' is required: the job's id or ARN")
            }
            let id: String
            if text.hasPrefix("arn:") {
                do {
                    id = try Self.jobId(fromArn: text)
                } catch {
                    throw builder.fail("'id' is not a job ARN (arn:aws:bedrock:…:model-invocation-job/ID)")
                }
            } else {
                guard Self.isJobId(text) else {
                    throw builder.fail("'id' must be a job id (letters and digits) or a job ARN")
                }
                id = text
            }
            var output: S3URI?
            if let value = args["output"], value != .nil {
                guard case .string(let uriText) = value else { throw builder.fail("'output' must be an s3:// URI") }
                do {
                    output = try S3URI(uri: uriText)
                } catch {
                    throw builder.fail("'output': \(ScriptError.from(error).message)")
                }
                if let output { try core.policy.checkBucket(output, what: "output", emulator: core.target.isEmulator) }
            }
            try core.checkAuditable()
            let core = self.core
            let job = BatchJob(name: id, model: "", output: output, input: nil, recordCount: nil, converse: true)
            job.assign(id)
            let handle = call.state.makeHandle(type: Self.jobType, label: id, object: job)
            return .suspend(
                HostRequest.work {
                    let client = try core.batchClient()
                    let found = try await client.getModelInvocationJob(jobIdentifier: id).output
                    let own = found.outputDataConfig.s3OutputDataConfig?.s3Uri
                    try core.policy.checkExistingJob(
                        id: id, roleArn: found.roleArn, output: own, emulator: core.target.isEmulator)
                    try Self.settleOutput(job, id: id, own: own)
                    let name = found.jobName.flatMap { BatchJob.isPrintableName($0) ? $0 : nil } ?? id
                    job.rename(name)
                    return [handle, .string(id), .string(name)]
                })
        } catch {
            return .error(error.luaValue)
        }
    }

    /// Checks an attached job's `output` against the folder the service says the job
    /// writes to (a mismatch would read an empty folder and report no results), or, when
    /// none was given, adopts the job's own folder (already checked by the policy).
    static func settleOutput(_ job: BatchJob, id: String, own: String?) throws(ScriptError) {
        let folder = own.flatMap { try? S3URI(uri: $0) }
        if let given = job.output {
            guard let folder else { return }
            guard given.bucket == folder.bucket, given.folderPrefix == folder.folderPrefix else {
                throw ScriptError(
                    code: .validationError,
                    message:
                        "bedrock.batch_job: job \(id) writes its results to \(HostPolicy.printable(folder.uri)), not \(given.uri); give that 'output' or leave it out"
                )
            }
        } else if let folder {
            job.adopt(output: folder)
        }
    }

    /// Letters and digits, 1-64 of them: what a job id may be before it enters a path.
    static func isJobId(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && CharacterSet.alphanumerics.contains($0) }
    }

    // MARK: submit

    private func fail(_ message: String) -> ScriptError {
        ScriptError(code: .validationError, message: "\(Self.function): \(message)")
    }

    private func submit(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let builder = RequestBuilder(function: Self.function, defaultModel: core.defaultModel)
            let args = try builder.table(call.argument(1))
            for key in args.keys where !Self.fields.contains(key) {
                throw fail("unknown field '\(key)' (known: \(Self.fields.sorted().joined(separator: ", ")))")
            }
            let model = try builder.model(args)
            let converse: Bool
            switch args["format"] {
            case nil, .nil?, .string("converse")?: converse = true
            case .string("invoke")?: converse = false
            case let other?: throw fail("'format' must be \"converse\" or \"invoke\", got \(ScriptNumber.show(other))")
            }
            guard case .string(let outputText)? = args["output"] else {
                throw fail("'output' is required: the s3:// folder the job writes its results to")
            }
            let output = try location(outputText, field: "output")
            guard case .string(let roleArn)? = args["role_arn"] else {
                throw fail("'role_arn' is required: the IAM role the service reads and writes S3 as")
            }
            let name = try jobName(args["name"])
            var timeoutHours: Int?
            if let value = args["timeout_hours"], value != .nil {
                timeoutHours = try ScriptNumber.count(
                    value, function: Self.function, field: "timeout_hours", in: 24...168)
            }
            // Each submission's own token: its records' key carries it, so a second job of the
            // same name (refused by the service with ConflictException) never overwrites the
            // first one's input; it is also the create's idempotency token.
            let submission = UUID().uuidString.lowercased()
            // Records or an existing input, never both ways of giving records.
            var lines: [UInt8]?
            var recordCount: Int?
            let input: S3URI
            switch (args["records"], args["input"]) {
            case (.some(let records), let inputValue) where records != .nil:
                let (jsonl, count) = try self.jsonl(records, model: model, converse: converse)
                lines = jsonl
                recordCount = count
                if case .string(let text)? = inputValue {
                    let given = try location(text, field: "input")
                    input =
                        given.key.hasSuffix(".jsonl")
                        ? given : try uri(given.bucket, given.folderPrefix + "\(name)-\(submission).jsonl")
                } else if inputValue == nil || inputValue == .nil {
                    input = try uri(output.bucket, output.folderPrefix + "quarry-input/\(name)-\(submission).jsonl")
                } else {
                    throw fail("'input' must be an s3:// URI")
                }
            case (_, .string(let text)?):
                input = try location(text, field: "input")
            default:
                throw fail("give 'records' (a list of requests) or 'input' (an s3:// URI of JSONL records)")
            }
            // Policy, before anything is sent.
            let emulator = core.target.isEmulator
            try core.checkAuditable()
            try core.policy.checkModel(model)
            try core.policy.checkRole(roleArn, emulator: emulator)
            try core.policy.checkBucket(input, what: "input", emulator: emulator)
            try core.policy.checkBucket(output, what: "output", emulator: emulator)
            if core.policy.callBudget != nil || core.policy.tokenBudget != nil {
                throw ScriptError(
                    code: .policyViolation,
                    message:
                        "\(Self.function) is not available under a call or token budget: a batch job's cost is known only when it ends"
                )
            }
            try core.checkWillCall(operation: "CreateModelInvocationJob", model: model, region: core.target.region)
            let request = CreateModelInvocationJobRequest(
                jobName: name, roleArn: roleArn, modelId: model, clientRequestToken: submission,
                inputDataConfig: .init(s3InputDataConfig: .init(s3Uri: input.uri, s3InputFormat: "JSONL")),
                outputDataConfig: .init(s3OutputDataConfig: .init(s3Uri: output.uri)),
                timeoutDurationInHours: timeoutHours, modelInvocationType: converse ? .converse : .invokeModel)
            let context = { (body: [UInt8]?) in AuditContext(call, settings: ClientSettings(), requestBody: body) }
            let putContext = context(lines)
            let createContext = context(AuditContext.json(request))
            let core = self.core
            let jsonl = lines
            let job = BatchJob(
                name: name, model: model, output: output, input: input, recordCount: recordCount, converse: converse)
            let handle = call.state.makeHandle(type: Self.jobType, label: name, object: job)
            return .suspend(
                HostRequest.work {
                    let client = try core.batchClient()
                    if emulator {
                        // The emulator starts with no buckets: make the job's (an existing one
                        // answers BucketAlreadyOwnedByYou, which is fine). Never done on AWS.
                        for bucket in Set([input.bucket, output.bucket]) { _ = try? await client.createBucket(bucket) }
                    }
                    if let lines = jsonl {
                        _ = try await Self.audited(core, "PutObject", model: nil, putContext, resource: input.uri) {
                            let r = try await client.putObject(
                                bucket: input.bucket, key: input.key, body: Data(lines),
                                contentType: "application/jsonl")
                            return ((), r.attempts, r.requestId)
                        }
                    }
                    let arn = try await Self.audited(
                        core, "CreateModelInvocationJob", model: model, createContext, resource: "job \(name)"
                    ) {
                        let r = try await client.createModelInvocationJob(request)
                        return (r.output.jobArn, r.attempts, r.requestId)
                    }
                    let id = try Self.jobId(fromArn: arn)
                    job.assign(id)
                    return [handle, .string(id), .string(name)]
                })
        } catch {
            return .error(error.luaValue)
        }
    }

    private func uri(_ bucket: String, _ key: String) throws(ScriptError) -> S3URI {
        do {
            return try S3URI(bucket: bucket, key: key)
        } catch {
            throw fail(ScriptError.from(error).message)
        }
    }

    private func location(_ text: String, field: String) throws(ScriptError) -> S3URI {
        do {
            return try S3URI(uri: text)
        } catch {
            throw fail("'\(field)': \(ScriptError.from(error).message)")
        }
    }

    /// The job name: given (the service's pattern, 1–63 characters) or `quarry-` and a random suffix.
    private func jobName(_ value: LuaValue?) throws(ScriptError) -> String {
        guard let value, value != .nil else {
            return "quarry-" + UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
        }
        guard case .string(let name) = value, (1...63).contains(name.utf8.count),
            name.unicodeScalars.first.map({ $0.isASCII && CharacterSet.alphanumerics.contains($0) }) == true,
            name.unicodeScalars.allSatisfy({
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+-.".unicodeScalars.contains($0))
            })
        else {
            throw fail("'name' must be 1-63 letters, digits, '+', '-' or '.', starting with a letter or digit")
        }
        return name
    }

    /// The records as JSONL (`{"recordId": "R00000001", "modelInput": …}` per line), in order.
    private func jsonl(_ value: LuaValue, model: String, converse: Bool) throws(ScriptError) -> ([UInt8], Int) {
        guard case .array(let records) = value else {
            if case .map(let m) = value, m.isEmpty { throw tooFew(0, model: model) }
            throw fail("'records' must be a list of requests")
        }
        guard records.count >= Self.minimumRecords else { throw tooFew(records.count, model: model) }
        guard records.count <= Self.maximumRecords else {
            throw fail(
                "\(records.count) records is more than a batch inference job takes (\(Self.maximumRecords)); split them into several jobs"
            )
        }
        var out: [UInt8] = []
        for (i, record) in records.enumerated() {
            let field = "records[\(i + 1)]"
            let input: JSONValue
            if converse {
                guard case .map(var table) = record else { throw fail("\(field) must be a Converse request table") }
                if let m = table["model"], m != .string(model) {
                    throw fail("\(field) names a model other than the batch's ('model' belongs on bedrock.batch)")
                }
                table["model"] = .string(model)
                for key in ["on_text", "on_event", "timeout", "stream_retry", "first_byte_timeout", "idle_timeout"]
                where table[key] != nil {
                    throw fail("\(field): '\(key)' does not apply to a batch record")
                }
                let builder = RequestBuilder(function: "\(Self.function): \(field)", defaultModel: model)
                let (request, _) = try builder.converse(table)
                guard let encoded = try? JSONValueEncoder().encode(request), case .object(let members) = encoded else {
                    throw fail("\(field) could not be encoded")
                }
                input = .object(members.filter { $0.0 != "modelId" })
            } else {
                switch record {
                case .map:
                    input = try LuaJSON.json(from: record, path: "\(Self.function): \(field)")
                case .string(let text):
                    guard let parsed = try? JSONParser.parse(Array(text.utf8)), case .object = parsed else {
                        throw fail("\(field) must be a table or a JSON object text")
                    }
                    input = parsed
                default:
                    throw fail("\(field) must be the model's native body (a table or JSON text)")
                }
            }
            let line: JSONValue = .object([("recordId", .string(Self.recordId(i))), ("modelInput", input)])
            out += JSONWriter.compact.bytes(line)
            out.append(UInt8(ascii: "\n"))
            guard out.count <= Self.maxInputBytes else {
                throw fail(
                    "the records take more than \(Self.maxInputBytes) bytes as JSONL; split them into several jobs")
            }
        }
        return (out, records.count)
    }

    private func tooFew(_ count: Int, model: String) -> ScriptError {
        // The suggested code runs as given: a record carries no model, so it names one.
        let quoted = String(decoding: JSONWriter.compact.bytes(.string(model)), as: UTF8.self)
        return fail(
            "\(count) \(count == 1 ? "record" : "records") is below the minimum of \(Self.minimumRecords) records per batch inference job; "
                + "for a small batch use map instead: "
                + "map(records, function(r) r.model = \(quoted) return bedrock.converse(r) end, {concurrency = 8})"
        )
    }

    static func recordId(_ index: Int) -> String {
        let digits = String(index + 1)
        return "R" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The job id at the end of a job ARN from the service, which must look like one:
    /// it becomes part of request paths and S3 keys, so it may not carry anything else.
    static func jobId(fromArn arn: String) throws(ScriptError) -> String {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        let id = ModelInvocationJobARN.jobId(of: arn)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "bedrock",
            parts[5] == "model-invocation-job/\(id)"[...], isJobId(id)
        else {
            throw ScriptError(
                code: "InvalidResponse",
                message:
                    "\(function): the service answered with a job ARN that is not one: '\(HostPolicy.printable(arn))'")
        }
        return id
    }

    /// Runs one batch operation and writes its audit record (success or failure).
    static func audited<T: Sendable>(
        _ core: HostCore, _ operation: String, model: String?, _ context: AuditContext, resource: String,
        _ body: () async throws -> (T, [AttemptRecord], String?)
    ) async throws -> T {
        let client = try core.batchClient()
        let host =
            ["PutObject", "GetObject", "ListObjectsV2"].contains(operation)
            ? client.configuration.s3Endpoint.host : client.configuration.controlEndpoint.host
        let started = Date()
        let clock = ContinuousClock.now
        let run = core.currentRun
        do {
            let (value, attempts, requestId) = try await body()
            let record = CallRecord(
                operation: operation, model: model, region: core.target.region, started: started,
                duration: ContinuousClock.now - clock, attempts: attempts, errorCode: nil, requestId: requestId,
                runId: run.id)
            await core.notify(record, events: run.events)
            core.audit(record, context, responseBody: nil, resource: resource, endpointHost: host)
            return value
        } catch {
            var failure = ScriptError.from(error)
            if failure.code.rawValue == "NoSuchBucket", resource.hasPrefix("s3://") {
                // S3 says only "The specified bucket does not exist": name the bucket.
                let bucket = resource.dropFirst("s3://".count).prefix { $0 != "/" }
                failure.message =
                    "the bucket '\(HostPolicy.printable(String(bucket)))' does not exist (\(operation) \(HostPolicy.printable(resource)))"
            }
            let record = CallRecord(
                operation: operation, model: model, region: core.target.region, started: started,
                duration: ContinuousClock.now - clock, attempts: failure.attempts, errorCode: failure.code.rawValue,
                requestId: failure.requestId, runId: run.id)
            await core.notify(record, events: run.events)
            core.audit(record, context, responseBody: nil, resource: resource, endpointHost: host)
            throw failure
        }
    }

    // MARK: status, stop, results

    private func job(_ call: LuaHostCall) throws(ScriptError) -> BatchJob {
        guard case .handle(let h) = call.argument(1), h.typeName == Self.jobType,
            let job = call.state.object(for: h) as? BatchJob, !job.id.isEmpty
        else {
            throw ScriptError(
                code: .validationError, message: "\(call.name): expected a batch job (use job:method())")
        }
        return job
    }

    private func status(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let job = try job(call)
            try core.checkAuditable()
            let core = self.core
            return .suspend(
                HostRequest.work {
                    let client = try core.batchClient()
                    let result = try await client.getModelInvocationJob(jobIdentifier: job.id)
                    return [try job.statusTable(result.output)]
                })
        } catch {
            return .error(error.luaValue)
        }
    }

    private func stop(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let job = try job(call)
            try core.checkAuditable()
            let core = self.core
            let context = AuditContext(call, settings: ClientSettings(), requestBody: nil)
            return .suspend(
                HostRequest.work {
                    let client = try core.batchClient()
                    try await Self.audited(
                        core, "StopModelInvocationJob", model: job.model, context, resource: "job \(job.id)"
                    ) {
                        let r = try await client.stopModelInvocationJob(jobIdentifier: job.id)
                        return ((), r.attempts, r.requestId)
                    }
                    return [.boolean(true)]
                })
        } catch {
            return .error(error.luaValue)
        }
    }

    /// `bedrock.batch_results(job, first)`: the entries from `first` (1-based) on, at
    /// most `resultsPage`, and whether more follow. The output is listed and indexed once,
    /// on the first call, from the job's own output folder (the location the script gave,
    /// or for an attached job the one the service describes, checked by the policy either
    /// way, and the job id); every listed key must be a plain key inside it.
    ///
    /// Bounded: the host holds the index (where each entry's line lies) and one output
    /// object's bytes at a time; each page parses only its own lines, and stops before
    /// what they would take as Lua values passes what the sandbox's memory has left.
    private func results(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            let job = try job(call)
            let first = try ScriptNumber.count(
                call.argument(2), function: "job:results", field: "first", in: 1...Int64(Self.maximumRecords + 1))
            try core.checkAuditable()
            let core = self.core
            let budget = call.state.crossingBudget
            let context = AuditContext(call, settings: ClientSettings(), requestBody: nil)
            return .suspend(
                HostRequest.work {
                    let reader = BatchOutputReader(core: core, job: job, context: context)
                    let index = try await reader.index()
                    let (page, more) = try await reader.page(index, first: first, budget: budget)
                    return [.array(page), .boolean(more)]
                })
        } catch {
            return .error(error.luaValue)
        }
    }
}

/// A submitted job, as its handle holds it: what the script gave (never a URL the
/// service named) and, once read, the results in input order.
final class BatchJob: Sendable {
    /// The job id, once the service created the job ("" before).
    var id: String { assigned.withLock { $0 } ?? "" }
    private let assigned = Mutex<String?>(nil)
    /// The job's name: the one given, or for an attached job the service's.
    var name: String { named.withLock { $0 } }
    private let named: Mutex<String>
    let model: String
    /// The folder the job writes to: the one given, or for a job attached without one
    /// the job's own (from GetModelInvocationJob, once fetched).
    var output: S3URI? { outputFolder.withLock { $0 } }
    private let outputFolder: Mutex<S3URI?>
    let input: S3URI?
    /// The records submitted (nil when the input was an existing S3 object).
    let recordCount: Int?
    let converse: Bool
    /// The output's index and the one object held, once read (see `BatchOutputReader`).
    let outputIndex = Mutex<BatchOutputIndex?>(nil)
    let held = Mutex<(object: Int, bytes: [UInt8])?>(nil)

    init(name: String, model: String, output: S3URI?, input: S3URI?, recordCount: Int?, converse: Bool) {
        self.named = Mutex(name); self.model = model; self.outputFolder = Mutex(output); self.input = input
        self.recordCount = recordCount; self.converse = converse
    }

    /// Records the output folder of an attached job that was given none: the job's own.
    func adopt(output: S3URI) { outputFolder.withLock { $0 = $0 ?? output } }

    /// Records the name the service gave an attached job.
    func rename(_ name: String) { named.withLock { $0 = name } }

    /// Records the id the service gave the job (checked by `BatchBindings.jobId`).
    func assign(_ id: String) { assigned.withLock { $0 = id } }

    /// Whether a name from the service may be shown as is (printable ASCII, as job names
    /// are, and nothing the scrubber would remove or mask: a piece of a sent token, an
    /// access key id); any other name is replaced by the job id.
    static func isPrintableName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.utf8.allSatisfy { (0x21...0x7E).contains($0) }
            && ServiceTextScrubber.scrub(name) == name
    }

    /// The statuses the service documents; anything else is an error, not a state to
    /// wait on (an unknown one never ends, so `job:wait()` would poll until its deadline).
    static let knownStatuses: [ModelInvocationJobStatus] = [
        .submitted, .validating, .scheduled, .inProgress, .stopping, .completed, .partiallyCompleted, .failed,
        .stopped, .expired,
    ]

    /// The job's status, checked to be one the service documents.
    static func checkedStatus(_ job: ModelInvocationJob, id: String, function: String) throws(ScriptError)
        -> ModelInvocationJobStatus
    {
        guard let status = job.status, knownStatuses.contains(status) else {
            let shown = job.status.map { "'\(HostPolicy.printable($0.rawValue))'" } ?? "none"
            throw ScriptError(
                code: "InvalidResponse",
                message:
                    "\(function): the service gave job \(id) a status that is not a batch job status: \(shown) (known: \(knownStatuses.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        return status
    }

    func statusTable(_ job: ModelInvocationJob) throws(ScriptError) -> LuaValue {
        let status = try Self.checkedStatus(job, id: id, function: "job:status")
        var m: [String: LuaValue] = [
            "id": .string(id), "name": .string(name), "status": .string(status.rawValue),
            "done": .boolean(status.isTerminal),
        ]
        if let output { m["output"] = .string(output.uri) }
        if let input {
            m["input"] = .string(input.uri)
        } else if let given = job.inputDataConfig.s3InputDataConfig?.s3Uri, let uri = try? S3URI(uri: given) {
            m["input"] = .string(uri.uri)
        }
        // Service text, scrubbed of any credential the client sent (as error messages are),
        // and with control characters shown, not obeyed, wherever it is printed.
        if let message = job.message {
            m["message"] = .string(TerminalText.escaped(ServiceTextScrubber.scrub(String(message.prefix(2000)))))
        }
        func count(_ key: String, _ value: Int64?) {
            if let value, value >= 0 { m[key] = .integer(value) }
        }
        count("total", job.totalRecordCount ?? recordCount.map(Int64.init))
        count("processed", job.processedRecordCount)
        count("succeeded", job.successRecordCount)
        count("failed", job.errorRecordCount)
        return .map(m)
    }
}
