import ArgumentParser
import Foundation
import Quarry

/// `quarry batch submit|status|results|stop|list`: Bedrock batch inference from the
/// shell. All but `list` run a small built-in script through the same host as
/// `quarry run` (so the same policy flags, audit log and target apply), calling
/// `bedrock.batch` or `bedrock.batch_job`; `list` asks the control plane directly.
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Submit, follow, read, stop and list Bedrock batch inference jobs.",
        discussion:
            "Against a running 'quarry emulator': export QUARRY_EMULATOR_URL=<its endpoint> (or pass --target emulator "
            + "--endpoint URL). Against AWS, --endpoint moves Bedrock Runtime, Bedrock and S3 alike unless "
            + "AWS_ENDPOINT_URL_BEDROCK / AWS_ENDPOINT_URL_S3 name others. Real jobs take hours: submit, then come "
            + "back with status and results. Limits for quarry batch unless the flags say otherwise: --max-seconds 8 "
            + "days, --max-memory 1024 MiB, --max-host-calls 10000000; --max-instructions and --max-output are for "
            + "scripts, and --call-budget / --token-budget make submit refuse (a job's cost is known only when it ends).",
        subcommands: [
            BatchSubmitCommand.self, BatchStatusCommand.self, BatchResultsCommand.self, BatchStopCommand.self,
            BatchListCommand.self,
        ])

    /// The built-in script: `...` is the action and its arguments. Errors are raised
    /// at level 0 (no chunk position) and worded for the shell.
    static let script = """
        local action, a, b, c, d, e = ...
        local function fail(message) error(message, 0) end
        local function line(s)
          local counts = ""
          if s.total then counts = " " .. tostring(s.processed or 0) .. "/" .. tostring(s.total) .. " records" end
          if s.failed and s.failed > 0 then counts = counts .. " (" .. tostring(s.failed) .. " failed)" end
          return "batch " .. tostring(s.id) .. ": " .. tostring(s.status) .. counts
        end
        local function ended(s)
          if s.status ~= "Completed" then
            fail(line(s) .. (s.message and (": " .. s.message) or ""))
          end
        end
        local function print_results(job, id, s)
          -- A job that wrote nothing is an error from job:results() itself.
          for entry in job:results() do print(json.encode(entry)) end
        end
        if action == "submit" then
          local opts = json.decode(a)
          if b ~= nil and b ~= "" then opts.records = b end
          local job = bedrock.batch(opts)
          -- With --results stdout is JSONL only: the id goes to stderr.
          if e == "results" then stderr.write("batch job " .. job.id .. "\\n") else print(job.id) end
          if c == "wait" then
            -- Every change but the last as it happens; the final state once, below.
            local s = job:wait{poll = tonumber(d), on_progress = function(s)
              if not s.done then stderr.write(line(s) .. "\\n") end
            end}
            if s.status == "Completed" then stderr.write(line(s) .. "\\n") end
            if e == "results" and (s.status == "Completed" or s.status == "PartiallyCompleted") then
              print_results(job, job.id, s)
            end
            ended(s)
          end
        elseif action == "status" then
          local s = bedrock.batch_job{id = a}:status()
          -- Always every key: null while the service has not counted the records yet.
          local shown = {}
          for k, v in pairs(s) do shown[k] = v end
          for _, k in ipairs{"total", "processed", "succeeded", "failed", "output", "input"} do
            if shown[k] == nil then shown[k] = json.null end
          end
          print(json.encode(shown))
          if s.done then ended(s) end
        elseif action == "results" then
          local job = bedrock.batch_job{id = a, output = (b ~= "" and b or nil)}
          local s = job:status()
          if not s.done then
            fail("job " .. a .. " is " .. tostring(s.status) .. ": its results are written when it ends "
              .. "(follow it with quarry batch status " .. a .. ")")
          end
          print_results(job, a, s)
        elseif action == "stop" then
          bedrock.batch_job{id = a}:stop()
          print("stopping " .. a)
        end
        """

    /// The most records a job takes, and so the most lines `--records` may hold.
    static let maximumRecords = 50_000
    /// The largest `--records` file read (the most JSONL one job's input may hold here).
    static let maxRecordsBytes = 256 << 20

    /// Runs the built-in script under `host`'s options, with `arguments(target)` (the
    /// action first). The script gets wider limits than a user's script unless a flag
    /// says otherwise: a job's records cross into the host at once, and waiting for a
    /// real job takes hours.
    static func run(
        _ host: HostOptions, showsTargetHint: Bool = false, recordsFile: String? = nil,
        _ arguments: @escaping @Sendable (QuarryTarget) -> [LuaValue]
    ) async throws {
        try host.checkAudit()
        var host = host
        if host.maxMemory == nil { host.maxMemory = 1024 }
        if host.maxHostCalls == nil { host.maxHostCalls = 10_000_000 }
        if host.maxSeconds == nil { host.maxSeconds = 8 * 86_400 }
        var runner = ScriptRunner(options: host, readsStandardInput: false)
        // Each record is a few table elements: room for the most a job takes.
        runner.crossingItems = maximumRecords * 64
        runner.reword = { text, target in
            shellWording(text, target: target, notFoundHint: showsTargetHint, recordsFile: recordsFile)
        }
        try await runner.run(
            source: Array(script.utf8), name: "=quarry batch", script: "quarry batch", values: arguments)
    }

    /// A message from the built-in script in shell terms: no chunk position, flags
    /// instead of Lua fields and host-policy names, and for a job the in-process
    /// emulator cannot find, why (it lived only in the earlier command).
    static func shellWording(
        _ text: String, target: QuarryTarget?, notFoundHint: Bool, recordsFile: String? = nil
    ) -> String {
        var text = text
        if text.hasPrefix("quarry batch:"), let colon = text.dropFirst("quarry batch:".count).firstIndex(of: ":") {
            let position = text[text.index(text.startIndex, offsetBy: "quarry batch:".count)..<colon]
            if !position.isEmpty, position.allSatisfy(\.isNumber) {
                text = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        for prefix in ["bedrock.batch_job: ", "bedrock.batch: ", "job:results: "] {
            text = text.replacingOccurrences(of: prefix, with: "")
        }
        let flags = [
            ("'model' is required", "--model is required"), ("'model'", "--model"), ("'role_arn'", "--role-arn"),
            ("'output'", "--output"), ("'input'", "--input"), ("'name'", "--name"),
            ("'timeout_hours'", "--timeout-hours"), ("'format'", "--format"), ("'id'", "the job id"),
            (" / HostPolicy.allowedBuckets", ""), (" / HostPolicy.allowedRoles", ""),
            ("(give bedrock.batch_job its --output)", "(give --output)"),
        ]
        for (from, to) in flags { text = text.replacingOccurrences(of: from, with: to) }
        if let range = text.range(of: "; wait for it first (job:wait())") {
            text.replaceSubrange(
                range, with: "; wait for it with quarry batch submit --wait, or check quarry batch status")
        }
        if let range = text.range(of: "for a small batch use map") {
            // The Lua advice names the batch's model: the shell's one-liner does too.
            var model = "MODEL"
            if let start = text.range(of: "r.model = \""),
                let end = text[start.upperBound...].firstIndex(of: "\"")
            {
                model = String(text[start.upperBound..<end])
            }
            text =
                String(text[..<range.lowerBound])
                + "for a small batch run the requests one by one with map instead: quarry --model \(model) -e "
                + "'local rs = {} for l in stdin.lines() do rs[#rs + 1] = json.decode(l) end "
                + "for _, r in ipairs(map(rs, function(r) return bedrock.converse(r) end, {concurrency = 8})) "
                + "do print(r.text) end'"
                + (recordsFile == "-" ? "" : " < \(shellQuoted(recordsFile ?? "records.jsonl"))")
        }
        if let dead = deadEmulator(text, target: target) { return dead }
        if notFoundHint, let target, target.servedRegions != nil,
            text.contains("ResourceNotFound") || text.contains("was not found")
        {
            text +=
                " (the built-in emulator lived only inside the command that submitted the job, and its jobs ended with it: "
                + "run `quarry emulator` in another terminal and point every quarry batch command at it with "
                + "QUARRY_EMULATOR_URL=<its endpoint> or --target emulator --endpoint URL, "
                + "or use quarry batch submit --wait --results)"
        }
        return text
    }

    /// `word` as one shell word: as is when plainly safe, else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let safe =
            !word.isEmpty
            && word.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_./+=:@%".unicodeScalars.contains($0))
            }
        return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// For a refused connection to a running emulator's URL (`QUARRY_EMULATOR_URL` or
    /// `--target emulator --endpoint`), what is wrong in the user's terms; nil otherwise.
    static func deadEmulator(_ text: String, target: QuarryTarget?) -> String? {
        guard let target, target.isEmulator, target.servedRegions == nil, text.contains("connection refused"),
            let url = target.emulatorAdmin?.url
        else { return nil }
        let named = ProcessInfo.processInfo.environment[HostOptions.emulatorURLVariable] ?? ""
        let source =
            !named.isEmpty && (url.hasPrefix(named) || named.hasPrefix(url))
            ? HostOptions.emulatorURLVariable : "--endpoint"
        return "no emulator answering at \(url) (\(source)): is `quarry emulator` running?"
    }

    /// Warns on stderr when Bedrock Runtime calls go to a custom endpoint but the batch
    /// calls (Bedrock's control plane, S3) would go to AWS itself: the mix the old
    /// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`-only setup made, where records meant for an
    /// emulator head for real S3.
    static func warnIfSplit(_ target: QuarryTarget) {
        guard !target.isEmulator, let runtime = try? target.makeClient().configuration.endpoint,
            let batch = try? target.makeBatchClient().configuration
        else { return }
        func isAWS(_ host: String) -> Bool { host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") }
        let toAWS = [batch.controlEndpoint.host, batch.s3Endpoint.host].filter(isAWS)
        guard !isAWS(runtime.host), !toAWS.isEmpty else { return }
        Terminal.standardError(
            "quarry: warning: Bedrock Runtime calls go to \(runtime.url) but batch calls go to AWS "
                + "(\(toAWS.joined(separator: ", "))): set AWS_ENDPOINT_URL or pass --endpoint to send Bedrock and S3 "
                + "there too, or for a running quarry emulator set QUARRY_EMULATOR_URL\n")
    }

    /// The lines of a JSONL records file as Lua values (one request each), in order.
    static func readRecords(path: String) throws -> LuaValue {
        let file = RecordsFile(
            path: path == "-" ? "standard input" : path, maxRecords: maximumRecords, maxBytes: maxRecordsBytes,
            maxItems: maximumRecords * 64)
        if path == "-" { return try file.records(in: try standardInput()) }
        return try file.read()
    }

    /// Standard input, whole, at most `maxRecordsBytes` (`--records -`).
    static func standardInput() throws -> Data {
        var data = Data()
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            data += chunk
            guard data.count <= maxRecordsBytes else {
                throw BatchInputError(
                    "records on standard input pass \(maxRecordsBytes >> 20) MiB; split them into several jobs")
            }
        }
        return data
    }
}

/// A problem with `quarry batch` input the user can fix (exit 2).
struct BatchInputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `quarry batch submit`: writes the records to S3 and creates the job; prints its id.
struct BatchSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Create a batch job from a JSONL file of requests (or JSONL already in S3); prints the job id.",
        discussion:
            "--model is required (the model every record goes to). With --wait it follows the job to its end "
            + "(progress on stderr) and exits 1 unless it Completed; --results then prints its results as "
            + "'quarry batch results' does (the job id then goes to stderr). Limits unless the flags say otherwise: "
            + "--max-seconds 8 days, --max-memory 1024 MiB, --max-host-calls 10000000.")

    @OptionGroup var host: HostOptions
    @Option(
        help:
            "A JSONL file (- for standard input): one request per line, as bedrock.converse takes it ({\"messages\": …}) or, with --format invoke, the model's native body (at most 50000 lines)."
    )
    var records: String?
    @Option(help: "Where the records go (a .jsonl key or a folder), or with no --records the JSONL already in S3.")
    var input: String?
    @Option(help: "The s3:// folder the job writes its results to.") var output: String
    @Option(name: .customLong("role-arn"), help: "The IAM role the service reads and writes S3 as.") var roleArn: String
    @Option(help: "The job name (default quarry-…).") var name: String?
    @Option(name: .customLong("timeout-hours"), help: "24 to 168.") var timeoutHours: Int?
    @Option(help: "converse (default) or invoke.") var format: String?
    @Flag(help: "Wait for the job to end (progress on stderr); exit 1 unless it Completed.") var wait = false
    @Option(help: "With --wait: seconds between status checks (default 1 on an emulator, 30 on AWS).")
    var poll: Double?
    @Flag(help: "With --wait: print the results, one JSON line per record, when the job ends.") var results = false

    func validate() throws {
        if let format, format != "converse", format != "invoke" {
            throw ValidationError("--format must be converse or invoke, got '\(format)'")
        }
        if let poll, !(poll > 0 && poll <= 3600) {
            throw ValidationError("--poll must be a number of seconds > 0 and <= 3600")
        }
        if (poll != nil || results) && !wait { throw ValidationError("--poll and --results go with --wait") }
        if records == nil && input == nil { throw ValidationError("give --records FILE or --input s3://…") }
        if host.model == nil { throw ValidationError("--model is required (the model every record goes to)") }
        // A bad location is a usage error (exit 2), as a missing one is.
        for (flag, value) in [("--output", Optional(output)), ("--input", input)] {
            guard let value else { continue }
            do {
                _ = try S3URI(uri: value)
            } catch {
                throw ValidationError("\(flag): \(ScriptError.from(error).message)")
            }
        }
    }

    func run() async throws {
        var opts: [String: LuaValue] = [
            "output": .string(output), "role_arn": .string(roleArn),
        ]
        if let model = host.model { opts["model"] = .string(model) }
        if let input { opts["input"] = .string(input) }
        if let name { opts["name"] = .string(name) }
        if let timeoutHours { opts["timeout_hours"] = .integer(Int64(timeoutHours)) }
        if let format { opts["format"] = .string(format) }
        var lines: LuaValue = .string("")
        if let records {
            do {
                lines = try BatchCommand.readRecords(path: records)
            } catch {
                Terminal.standardError("quarry batch: \(error)\n")
                throw ExitCode(2)
            }
        }
        let encoded: String
        do {
            encoded = try LuaJSON.encode(.map(opts))
        } catch {
            throw ValidationError("quarry batch: \(error.message)")
        }
        let (wait, poll, results, records) = (self.wait, self.poll, self.results, lines)
        try await BatchCommand.run(host, recordsFile: self.records) { target in
            BatchCommand.warnIfSplit(target)
            if target.servedRegions != nil, !(wait && results) {
                Terminal.standardError(
                    "quarry: warning: the built-in emulator ends with this command, and the job with it: "
                        + "use --wait --results to get its results now, or run quarry emulator in another terminal and "
                        + "set QUARRY_EMULATOR_URL=<its endpoint> to come back to the job later\n")
            }
            let every = poll ?? (target.isEmulator ? 1 : 30)
            return [
                .string("submit"), .string(encoded), records, .string(wait ? "wait" : ""), .number(every),
                .string(results ? "results" : ""),
            ]
        }
    }
}

/// `quarry batch status ID`: the job's status as JSON.
struct BatchStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a job's status as JSON; exit 1 when it ended other than Completed.",
        discussion:
            "Keys: id, name, status, done, input and output (s3:// URIs), total, processed, succeeded and failed "
            + "(null until the service has counted the records), and message when the service gives one.")
    @OptionGroup var host: HostOptions
    @Argument(help: "The job id or ARN.") var job: String
    func run() async throws {
        let job = self.job
        try await BatchCommand.run(host, showsTargetHint: true) { _ in [.string("status"), .string(job)] }
    }
}

/// `quarry batch results ID --output s3://…`: one JSON line per record, in input order.
struct BatchResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results", abstract: "Print a finished job's results, one JSON line per record.",
        discussion:
            "Read from the job's own output folder (as the service describes it) unless --output names it; an "
            + "--output that is not the job's folder is an error naming the job's. Exit 1 when the job wrote nothing.")
    @OptionGroup var host: HostOptions
    @Argument(help: "The job id or ARN.") var job: String
    @Option(help: "The s3:// folder the job was given as its output (default: the job's own, from the service).")
    var output: String?
    func run() async throws {
        let (job, output) = (self.job, self.output ?? "")
        try await BatchCommand.run(host, showsTargetHint: true) { _ in
            [.string("results"), .string(job), .string(output)]
        }
    }
}

/// `quarry batch stop ID`: asks the service to stop the job.
struct BatchStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a job.")
    @OptionGroup var host: HostOptions
    @Argument(help: "The job id or ARN.") var job: String
    func run() async throws {
        let job = self.job
        try await BatchCommand.run(host, showsTargetHint: true) { _ in [.string("stop"), .string(job)] }
    }
}

/// `quarry batch list`: the account's jobs (ListModelInvocationJobs), newest first, one
/// tab-separated line each: name, id, status, creation time.
struct BatchListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List batch jobs, newest first: name, id, status and creation time, tab-separated.")
    @OptionGroup var host: HostOptions
    @Option(help: "Only jobs in this status (Submitted, Validating, Scheduled, InProgress, Completed, …).")
    var status: String?
    @Option(help: "Most jobs to list (default 100).") var max: Int = 100

    static let statuses = [
        "Submitted", "Validating", "Scheduled", "InProgress", "Stopping", "Stopped", "Completed",
        "PartiallyCompleted", "Failed", "Expired",
    ]

    func validate() throws {
        if let status, !Self.statuses.contains(where: { $0.lowercased() == status.lowercased() }) {
            throw ValidationError("--status must be one of \(Self.statuses.joined(separator: ", ")), got '\(status)'")
        }
        if !(1...10_000).contains(max) { throw ValidationError("--max must be 1 to 10000, got \(max)") }
    }

    func deadEmulatorText(_ text: String, _ target: QuarryTarget) -> String? {
        BatchCommand.deadEmulator(text, target: target)
    }

    func run() async throws {
        let target: QuarryTarget
        do {
            target = try await host.resolveTarget()
        } catch {
            Terminal.standardError("quarry: \(TerminalText.escaped(ScriptRunner.describe(error)))\n")
            throw ExitCode(2)
        }
        let wanted = status.flatMap { s in Self.statuses.first { $0.lowercased() == s.lowercased() } }
        var jobs: [ModelInvocationJob] = []
        do {
            let client = try target.makeBatchClient()
            defer { Task { try? await client.shutdown() } }
            var token: String?
            repeat {
                let page = try await client.listModelInvocationJobs(
                    ListModelInvocationJobsRequest(
                        statusEquals: wanted.map(ModelInvocationJobStatus.init(rawValue:)),
                        maxResults: Swift.min(1000, max - jobs.count), nextToken: token, sortBy: "CreationTime",
                        sortOrder: "Descending"))
                jobs += page.output.invocationJobSummaries ?? []
                token = page.output.nextToken
            } while token != nil && jobs.count < max
        } catch {
            await target.shutdown()
            let text = ScriptError.from(error).description
            Terminal.standardError("quarry: \(TerminalText.escaped(deadEmulatorText(text, target) ?? text))\n")
            throw ExitCode(1)
        }
        if jobs.isEmpty, target.servedRegions != nil {
            Terminal.standardError(
                "quarry: no jobs: the built-in emulator starts empty in every command; to list jobs submitted "
                    + "earlier run quarry emulator and set QUARRY_EMULATOR_URL (or --target emulator --endpoint URL)\n")
        }
        let format = ISO8601DateFormatter()
        for job in jobs.prefix(max) {
            let fields = [
                job.jobName ?? "-", job.jobId, job.status?.rawValue ?? "Unknown", format.string(from: job.submitTime),
            ]
            Terminal.standardOutput(TerminalText.escaped(fields.joined(separator: "\t")) + "\n")
        }
        await target.shutdown()
    }
}
