import BedrockWire
import Foundation
import Synchronization

/// What running one batch record gave: the model's output or the record's error.
enum BatchRecordOutcome: Sendable {
    case output(JSONValue, inputTokens: Int, outputTokens: Int)
    case error(code: Int, message: String)
}

/// Runs one record's `modelInput` through the emulator's models.
typealias BatchRecordRunner =
    @Sendable (_ model: ModelDescriptor, _ input: JSONValue, _ converse: Bool) async -> BatchRecordOutcome

/// The Bedrock control plane's batch inference: CreateModelInvocationJob,
/// GetModelInvocationJob, ListModelInvocationJobs and StopModelInvocationJob, with the
/// service's shapes (botocore's `bedrock` model), and a job lifecycle that runs
/// offline: `Submitted → Validating → Scheduled → InProgress → Completed |
/// PartiallyCompleted | Failed | Stopped`, one state per `stepDuration`. The job reads
/// its JSONL input from the emulator's S3, runs every record through the models and
/// writes `<output>/<jobId>/<input file>.out` and `manifest.json.out`, as the service does.
final class ModelInvocationJobs: Sendable {
    /// A job's status, as the service names it.
    enum Status: String, Sendable, CaseIterable {
        case submitted = "Submitted", validating = "Validating", scheduled = "Scheduled", inProgress = "InProgress"
        case completed = "Completed", partiallyCompleted = "PartiallyCompleted", failed = "Failed"
        case stopping = "Stopping", stopped = "Stopped", expired = "Expired"

        var isTerminal: Bool { [.completed, .partiallyCompleted, .failed, .stopped, .expired].contains(self) }
    }

    /// The lifecycle's pace and the service's limits.
    struct Settings: Sendable {
        var stepDuration: Duration
        var minimumRecords: Int
        var maximumRecords: Int
        var maxActiveJobs: Int
        var capacity: Int
    }

    private struct Job {
        var id: String
        var arn: String
        var name: String
        var modelID: String
        var roleArn: String
        var token: String?
        var bodyHash: UInt64
        var inputConfig: JSONValue
        var outputConfig: JSONValue
        var input: S3Location
        var output: S3Location
        var converse: Bool
        var invocationType: String?
        var timeoutHours: Int?
        var vpcConfig: JSONValue?
        var status: Status = .submitted
        var message: String?
        var submitted: Date
        var modified: Date
        var ended: Date?
        var total: Int?
        var processed = 0
        var succeeded = 0
        var failed = 0
    }

    private struct State {
        var jobs: [String: Job] = [:]
        var idByToken: [String: String] = [:]
        /// Job ids, oldest first.
        var order: [String] = []
        var tasks: [String: Task<Void, Never>] = [:]
    }

    static let account = "123456789012"
    let settings: Settings
    let objects: ObjectStore
    private let state = Mutex(State())

    init(settings: Settings, objects: ObjectStore) {
        self.settings = settings
        self.objects = objects
    }

    // MARK: Operations

    func create(_ body: JSONValue, region: String, catalog: ModelCatalog, runner: @escaping BatchRecordRunner)
        throws(ServiceError) -> JSONValue
    {
        func required(_ name: String) throws(ServiceError) -> JSONValue {
            guard let value = body[name], value != .null else {
                throw .validation(
                    "1 validation error detected: Value null at '\(name)' failed to satisfy constraint: Member must not be null"
                )
            }
            return value
        }
        guard let name = try required("jobName").stringValue else { throw .validation("jobName must be a string") }
        try Self.check(name, matches: Self.jobNamePattern, maxLength: 63, field: "jobName")
        guard let roleArn = try required("roleArn").stringValue else { throw .validation("roleArn must be a string") }
        try Self.check(roleArn, matches: Self.roleArnPattern, maxLength: 2048, field: "roleArn")
        guard let modelID = try required("modelId").stringValue else { throw .validation("modelId must be a string") }
        guard let model = catalog.resolve(modelID) else {
            throw .validation("The provided model identifier is invalid.")
        }
        let inputConfig = try required("inputDataConfig")
        let outputConfig = try required("outputDataConfig")
        guard let inputURI = inputConfig["s3InputDataConfig"]?["s3Uri"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'inputDataConfig.s3InputDataConfig.s3Uri' failed to satisfy constraint: Member must not be null"
            )
        }
        guard let outputURI = outputConfig["s3OutputDataConfig"]?["s3Uri"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must not be null"
            )
        }
        try Self.check(
            inputURI, matches: Self.s3URIPattern, maxLength: 1024, field: "inputDataConfig.s3InputDataConfig.s3Uri")
        try Self.check(
            outputURI, matches: Self.s3URIPattern, maxLength: 1024, field: "outputDataConfig.s3OutputDataConfig.s3Uri")
        guard let input = S3Location(inputURI), let output = S3Location(outputURI) else {
            throw .validation("The S3 URI must name a valid bucket: s3://bucket/prefix")
        }
        if let format = inputConfig["s3InputDataConfig"]?["s3InputFormat"]?.stringValue, format != "JSONL" {
            throw .constraint(
                "inputDataConfig.s3InputDataConfig.s3InputFormat", value: RequestLog.cut(format),
                "Member must satisfy enum value set: [JSONL]")
        }
        var timeoutHours: Int?
        if let hours = body["timeoutDurationInHours"] {
            guard let number = hours.intValue, (24...168).contains(number) else {
                throw .constraint(
                    "timeoutDurationInHours", value: RequestLog.cut(hours.text),
                    "Member must have value between 24 and 168")
            }
            timeoutHours = number
        }
        let invocationType = body["modelInvocationType"]?.stringValue
        if let invocationType, invocationType != "InvokeModel", invocationType != "Converse" {
            throw .constraint(
                "modelInvocationType", value: RequestLog.cut(invocationType),
                "Member must satisfy enum value set: [InvokeModel, Converse]")
        }
        let converse = invocationType == "Converse"
        guard converse ? model.family.generatesText : model.family.servesInvokeModel else {
            throw .validation(
                "The model \(model.id) doesn't support batch inference with \(invocationType ?? "InvokeModel").")
        }
        let token = body["clientRequestToken"]?.stringValue
        if let token { try Self.check(token, matches: Self.tokenPattern, maxLength: 256, field: "clientRequestToken") }
        let hash = StableHash.of(body.serialized)
        let now = Date()

        let outcome: Result<(Job, Bool), ServiceError> = state.withLock { state in
            if let token, let id = state.idByToken[token], let existing = state.jobs[id] {
                guard existing.bodyHash == hash else {
                    return .failure(
                        ServiceError(
                            .conflict,
                            "The request conflicts with a previous request that used the same clientRequestToken."))
                }
                return .success((existing, false))
            }
            if state.jobs.values.contains(where: { $0.name == name }) {
                return .failure(ServiceError(.conflict, "A model invocation job with the name \(name) already exists."))
            }
            let active = state.jobs.values.filter { !$0.status.isTerminal }.count
            guard active < settings.maxActiveJobs else {
                return .failure(
                    ServiceError(
                        .serviceQuotaExceeded,
                        "The number of batch inference jobs submitted or in progress "
                            + "(\(active)) has reached the account's quota of \(settings.maxActiveJobs)."))
            }
            var id = Self.newID()
            while state.jobs[id] != nil { id = Self.newID() }
            let job = Job(
                id: id, arn: "arn:aws:bedrock:\(region):\(Self.account):model-invocation-job/\(id)", name: name,
                modelID: modelID, roleArn: roleArn, token: token, bodyHash: hash, inputConfig: inputConfig,
                outputConfig: outputConfig, input: input, output: output, converse: converse,
                invocationType: invocationType, timeoutHours: timeoutHours, vpcConfig: body["vpcConfig"],
                submitted: now, modified: now)
            state.jobs[id] = job
            if let token { state.idByToken[token] = id }
            state.order.append(id)
            forgetOldest(&state)
            return .success((job, true))
        }
        let (job, created) = try outcome.get()
        if created { launch(job.id, model: model, runner: runner) }
        return ["jobArn": .string(job.arn)]
    }

    func get(_ identifier: String) throws(ServiceError) -> JSONValue {
        let id = try Self.jobID(identifier)
        guard let job = state.withLock({ $0.jobs[id] }) else { throw Self.notFound(identifier) }
        return describe(job)
    }

    func list(query: [(String, String)]) throws(ServiceError) -> JSONValue {
        var jobs = state.withLock { state in state.order.compactMap { state.jobs[$0] } }
        var maxResults = 1000
        var start = 0
        var descending = true
        for (name, value) in query {
            switch name {
            case "statusEquals":
                guard let status = Status(rawValue: value) else {
                    throw .constraint(
                        "statusEquals", value: RequestLog.cut(value),
                        "Member must satisfy enum value set: [\(Status.allCases.map(\.rawValue).joined(separator: ", "))]"
                    )
                }
                jobs.removeAll { $0.status != status }
            case "nameContains": jobs.removeAll { !$0.name.contains(value) }
            case "submitTimeAfter", "submitTimeBefore":
                guard let date = Self.parseTimestamp(value) else {
                    throw .validation("The \(name) value \(RequestLog.cut(value)) is not a valid timestamp.")
                }
                jobs.removeAll { name == "submitTimeAfter" ? $0.submitted <= date : $0.submitted >= date }
            case "maxResults":
                guard let number = Int(value), (1...1000).contains(number) else {
                    throw .constraint(
                        "maxResults", value: RequestLog.cut(value), "Member must have value between 1 and 1000")
                }
                maxResults = number
            case "nextToken":
                guard let offset = Int(value), offset >= 0 else { throw .validation("The nextToken is invalid.") }
                start = offset
            case "sortOrder":
                guard value == "Ascending" || value == "Descending" else {
                    throw .constraint(
                        "sortOrder", value: RequestLog.cut(value),
                        "Member must satisfy enum value set: [Ascending, Descending]")
                }
                descending = value == "Descending"
            case "sortBy":
                guard value == "CreationTime" else {
                    throw .constraint(
                        "sortBy", value: RequestLog.cut(value), "Member must satisfy enum value set: [CreationTime]")
                }
            default: break
            }
        }
        if descending { jobs.reverse() }
        let page = Array(jobs.dropFirst(start).prefix(maxResults))
        var result: [String: JSONValue] = ["invocationJobSummaries": .array(page.map(describe))]
        if start + page.count < jobs.count { result["nextToken"] = .string(String(start + page.count)) }
        return JSONValue(result)
    }

    func stop(_ identifier: String) throws(ServiceError) -> JSONValue {
        let id = try Self.jobID(identifier)
        let outcome: Result<Void, ServiceError> = state.withLock { state in
            guard var job = state.jobs[id] else { return .failure(Self.notFound(identifier)) }
            guard !job.status.isTerminal, job.status != .stopping else {
                return .failure(.validation("The job \(job.name) is \(job.status.rawValue) and cannot be stopped."))
            }
            job.status = .stopping
            job.modified = Date()
            state.jobs[id] = job
            return .success(())
        }
        try outcome.get()
        return [:]
    }

    /// Cancels every running job (the emulator is stopping); they stay in their state.
    func shutdown() {
        let tasks = state.withLock { state in
            defer { state.tasks = [:] }
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
    }

    // MARK: The lifecycle

    private func launch(_ id: String, model: ModelDescriptor, runner: @escaping BatchRecordRunner) {
        let task = Task { [self] in
            await run(id, model: model, runner: runner)
            state.withLock { _ = $0.tasks.removeValue(forKey: id) }
        }
        state.withLock { state in
            if state.jobs[id]?.status.isTerminal == false { state.tasks[id] = task }
        }
    }

    /// One parsed input record.
    private struct Record {
        var id: String
        var input: JSONValue
    }

    /// One input file and its records.
    private struct InputFile {
        var name: String
        var records: [Record]
    }

    private func run(_ id: String, model: ModelDescriptor, runner: BatchRecordRunner) async {
        guard await step(), advance(id, to: .validating) else { return }
        let files: [InputFile]
        switch readInput(id) {
        case .success(let read): files = read
        case .failure(let message):
            finish(id, status: .failed, message: message)
            return
        }
        let total = files.reduce(0) { $0 + $1.records.count }
        update(id) { $0.total = total }
        guard total >= settings.minimumRecords else {
            finish(
                id, status: .failed,
                message: "The job has \(total) records; a batch inference job needs at least "
                    + "\(settings.minimumRecords). Use on-demand inference for fewer records.")
            return
        }
        guard total <= settings.maximumRecords else {
            finish(
                id, status: .failed,
                message:
                    "The job has \(total) records; a batch inference job may have at most \(settings.maximumRecords).")
            return
        }
        guard await step(), advance(id, to: .scheduled), await step(), advance(id, to: .inProgress) else { return }
        guard let converse = state.withLock({ $0.jobs[id]?.converse }) else { return }

        let chunk = max(1, (total + 3) / 4)
        var outputs: [(name: String, lines: [String])] = []
        var inputTokens = 0
        var outputTokens = 0
        var sinceStep = 0
        var stopped = false
        fileLoop: for file in files {
            var lines: [String] = []
            for record in file.records {
                if sinceStep == chunk {
                    sinceStep = 0
                    guard await step() else { return }
                }
                if state.withLock({ $0.jobs[id]?.status }) == .stopping {
                    stopped = true
                    outputs.append((file.name, lines))
                    break fileLoop
                }
                var line: JSONValue = ["recordId": .string(record.id), "modelInput": record.input]
                let outcome = await runner(model, record.input, converse)
                switch outcome {
                case .output(let output, let inTokens, let outTokens):
                    line["modelOutput"] = output
                    inputTokens += inTokens
                    outputTokens += outTokens
                    update(id) {
                        $0.processed += 1; $0.succeeded += 1
                    }
                case .error(let code, let message):
                    line["error"] = ["errorCode": .int(code), "errorMessage": .string(message)]
                    update(id) {
                        $0.processed += 1; $0.failed += 1
                    }
                }
                lines.append(line.text)
                sinceStep += 1
            }
            outputs.append((file.name, lines))
        }
        guard let job = state.withLock({ $0.jobs[id] }) else { return }
        let manifest: JSONValue = [
            "totalRecordCount": .int(total), "processedRecordCount": .int(job.processed),
            "successRecordCount": .int(job.succeeded), "errorRecordCount": .int(job.failed),
            "inputTokenCount": .int(inputTokens), "outputTokenCount": .int(outputTokens),
        ]
        var prefix = job.output.key
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        prefix += id + "/"
        do {
            for output in outputs {
                let text = output.lines.map { $0 + "\n" }.joined()
                try objects.put(
                    bucket: job.output.bucket, key: prefix + output.name + ".out", bytes: Array(text.utf8),
                    contentType: "application/jsonl")
            }
            try objects.put(
                bucket: job.output.bucket, key: prefix + "manifest.json.out", bytes: Array(manifest.text.utf8),
                contentType: "application/json")
        } catch {
            let reason =
                switch error {
                case .noSuchBucket: "the output bucket \(job.output.bucket) does not exist"
                case .full: "the emulator's S3 is full (max_stored_object_bytes)"
                }
            finish(id, status: .failed, message: "The job could not write its output: \(reason).")
            return
        }
        if stopped {
            finish(id, status: .stopped, message: nil)
        } else if job.failed == 0 {
            finish(id, status: .completed, message: nil)
        } else if job.succeeded > 0 {
            finish(
                id, status: .partiallyCompleted,
                message: "\(job.failed) of \(total) records failed; see the output files for their errors.")
        } else {
            finish(id, status: .failed, message: "Every record failed; see the output files for their errors.")
        }
    }

    /// Waits one lifecycle step; false when the emulator is stopping.
    private func step() async -> Bool {
        if settings.stepDuration > .zero {
            do { try await Task.sleep(for: settings.stepDuration) } catch { return false }
        } else {
            await Task.yield()
        }
        return !Task.isCancelled
    }

    /// Moves a job to `status` unless it was stopped meanwhile (then it ends `Stopped`).
    private func advance(_ id: String, to status: Status) -> Bool {
        state.withLock { state in
            guard var job = state.jobs[id] else { return false }
            job.modified = Date()
            if job.status == .stopping {
                job.status = .stopped
                job.ended = job.modified
                state.jobs[id] = job
                return false
            }
            job.status = status
            state.jobs[id] = job
            return true
        }
    }

    private func update(_ id: String, _ change: (inout Job) -> Void) {
        state.withLock { state in
            guard var job = state.jobs[id] else { return }
            change(&job)
            job.modified = Date()
            state.jobs[id] = job
        }
    }

    private func finish(_ id: String, status: Status, message: String?) {
        update(id) { job in
            job.status = status
            job.message = message
            job.ended = Date()
        }
    }

    /// The input's JSONL files (one object, or every `.jsonl` object under a prefix)
    /// parsed into records, or why the job fails validation.
    /// The most input bytes one job reads (all its files together).
    static let maxJobInputBytes = 8 << 20
    /// The most bytes one record (one JSONL line) may have.
    static let maxRecordBytes = 1 << 20

    private func readInput(_ id: String) -> Result<[InputFile], ValidationFailure> {
        guard let location = state.withLock({ $0.jobs[id]?.input }) else {
            return .failure(ValidationFailure("The job is gone."))
        }
        guard let listed = objects.list(bucket: location.bucket, prefix: location.key) else {
            return .failure(ValidationFailure("The input bucket \(location.bucket) does not exist."))
        }
        let chosen =
            listed.contains(where: { $0.key == location.key })
            ? listed.filter { $0.key == location.key }
            : listed.filter { $0.key.hasSuffix(".jsonl") }
        guard !chosen.isEmpty else { return .failure(ValidationFailure("No .jsonl input found at \(location.uri).")) }
        // Parsed records take many times their bytes: the emulator reads at most
        // `maxJobInputBytes` per job and `maxRecordBytes` per record (its own limits,
        // so that a hostile input cannot take its memory).
        let total = chosen.reduce(0) { $0 + $1.object.bytes.count }
        guard total <= Self.maxJobInputBytes else {
            return .failure(
                ValidationFailure(
                    "The input at \(location.uri) is \(total) bytes; the emulator reads at most "
                        + "\(Self.maxJobInputBytes) bytes per job."))
        }
        var files: [InputFile] = []
        var serial = 0
        for entry in chosen {
            var records: [Record] = []
            var lineNumber = 0
            for line in entry.object.bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
                if trimmed.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                guard trimmed.count <= Self.maxRecordBytes else {
                    return .failure(
                        ValidationFailure(
                            "Line \(lineNumber) of s3://\(location.bucket)/\(entry.key) is \(trimmed.count) bytes; "
                                + "the emulator takes records of at most \(Self.maxRecordBytes) bytes."))
                }
                guard let value = try? JSONParser.parse(Array(trimmed)), case .object = value,
                    let input = value["modelInput"], case .object = input
                else {
                    return .failure(
                        ValidationFailure(
                            "Line \(lineNumber) of s3://\(location.bucket)/\(entry.key) is not a JSON object "
                                + "with a modelInput object."))
                }
                serial += 1
                var recordID = value["recordId"]?.stringValue ?? ""
                if recordID.isEmpty {
                    let digits = String(serial)
                    recordID = "RECORD" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
                }
                records.append(Record(id: recordID, input: input))
                if serial > settings.maximumRecords { break }
            }
            let name = entry.key.split(separator: "/").last.map(String.init) ?? entry.key
            files.append(InputFile(name: name, records: records))
        }
        return .success(files)
    }

    /// A validation failure's message.
    private struct ValidationFailure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private func finish(_ id: String, status: Status, message failure: ValidationFailure) {
        finish(id, status: status, message: failure.message)
    }

    // MARK: Shapes

    private func describe(_ job: Job) -> JSONValue {
        var members: [String: JSONValue] = [
            "jobArn": .string(job.arn), "jobName": .string(job.name), "modelId": .string(job.modelID),
            "roleArn": .string(job.roleArn), "status": .string(job.status.rawValue),
            "submitTime": Self.timestamp(job.submitted), "lastModifiedTime": Self.timestamp(job.modified),
            "inputDataConfig": job.inputConfig, "outputDataConfig": job.outputConfig,
            "processedRecordCount": .int(job.processed), "successRecordCount": .int(job.succeeded),
            "errorRecordCount": .int(job.failed),
        ]
        if let token = job.token { members["clientRequestToken"] = .string(token) }
        if let message = job.message { members["message"] = .string(message) }
        if let ended = job.ended { members["endTime"] = Self.timestamp(ended) }
        if let total = job.total { members["totalRecordCount"] = .int(total) }
        if let type = job.invocationType { members["modelInvocationType"] = .string(type) }
        if let vpc = job.vpcConfig { members["vpcConfig"] = vpc }
        let hours = job.timeoutHours ?? 168
        if job.timeoutHours != nil { members["timeoutDurationInHours"] = .int(hours) }
        members["jobExpirationTime"] = Self.timestamp(job.submitted.addingTimeInterval(TimeInterval(hours) * 3600))
        return JSONValue(members)
    }

    private static func timestamp(_ date: Date) -> JSONValue {
        .string(ISO8601Text.formatWithFractionalSeconds(date))
    }

    private static func parseTimestamp(_ text: String) -> Date? {
        if let date = ISO8601Text.parse(text) { return date }
        if let seconds = Double(text), seconds.isFinite, abs(seconds) < 1e11 {
            return Date(timeIntervalSince1970: seconds)
        }
        return nil
    }

    private func forgetOldest(_ state: inout State) {
        while state.order.count > settings.capacity,
            let index = state.order.firstIndex(where: { state.jobs[$0]?.status.isTerminal ?? true })
        {
            let id = state.order.remove(at: index)
            if let gone = state.jobs.removeValue(forKey: id), let token = gone.token, state.idByToken[token] == id {
                state.idByToken[token] = nil
            }
        }
    }

    private static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<12).map { _ in alphabet[Int(generator.next() % 36)] })
    }

    /// The job id in a job identifier (an ARN or the bare id), checked as the service does.
    static func jobID(_ identifier: String) throws(ServiceError) -> String {
        try check(identifier, matches: jobIdentifierPattern, maxLength: 1011, field: "jobIdentifier")
        return identifier.split(separator: "/").last.map(String.init) ?? identifier
    }

    private static func notFound(_ identifier: String) -> ServiceError {
        ServiceError(.resourceNotFound, "The model invocation job \(RequestLog.cut(identifier)) was not found.")
    }

    // The services' patterns (botocore's `bedrock` model).
    static let jobNamePattern = #"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}"#
    static let roleArnPattern = #"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"#
    static let s3URIPattern =
        #"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"#
    static let tokenPattern = #"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}"#
    static let jobIdentifierPattern =
        #"((arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?[a-z0-9]{12})"#

    static func check(_ value: String, matches pattern: String, maxLength: Int, field: String) throws(ServiceError) {
        guard value.count <= maxLength, let regex = try? Regex(pattern), (try? regex.wholeMatch(in: value)) != nil
        else {
            throw .constraint(
                field, value: RequestLog.cut(value),
                "Member must satisfy regular expression pattern: \(pattern) and have length at most \(maxLength)")
        }
    }
}
