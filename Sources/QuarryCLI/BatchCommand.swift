import ArgumentParser
import Foundation
import Quarry

/// `quarry batch submit|status|results|stop`: Bedrock batch inference from the shell.
/// Each runs a small built-in script through the same host as `quarry run` (so the
/// same policy flags, audit log and target apply), calling `bedrock.batch` or
/// `bedrock.batch_job`.
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Submit, follow, read and stop Bedrock batch inference jobs.",
        subcommands: [
            BatchSubmitCommand.self, BatchStatusCommand.self, BatchResultsCommand.self, BatchStopCommand.self,
        ])

    /// The built-in script: `...` is the action and its arguments (strings).
    static let script = """
        local action, a, b, c = ...
        if action == "submit" then
          local opts = json.decode(a)
          if b ~= "" then
            local records, n = {}, 0
            for line in b:gmatch("[^\\n]+") do
              if line:find("%S") then
                n = n + 1
                local ok, record = pcall(json.decode, line)
                if not ok then error("records line " .. n .. " is not JSON: " .. tostring(record.message or record), 0) end
                records[n] = record
              end
            end
            opts.records = records
          end
          local job = bedrock.batch(opts)
          print(job.id)
          if c ~= "" then
            local s = job:wait{poll = tonumber(c)}
            stderr.write("batch " .. job.id .. ": " .. s.status .. "\\n")
          end
        elseif action == "status" then
          local s = bedrock.batch_job{id = a}:status()
          print(json.encode(s))
        elseif action == "results" then
          local job = bedrock.batch_job{id = a, output = b}
          for entry in job:results() do print(json.encode(entry)) end
        elseif action == "stop" then
          bedrock.batch_job{id = a}:stop()
          print("stopping " .. a)
        end
        """

    /// Runs the built-in script with `arguments` under `host`'s options.
    static func run(_ host: HostOptions, _ arguments: [String]) async throws {
        try host.checkAudit()
        try await ScriptRunner(options: host, readsStandardInput: false)
            .run(source: Array(script.utf8), name: "=quarry batch", script: "quarry batch", arguments: arguments)
    }
}

/// `quarry batch submit`: writes the records to S3 and creates the job; prints its id.
struct BatchSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Create a batch job from a JSONL file of requests (or JSONL already in S3); prints the job id.")

    @OptionGroup var host: HostOptions
    @Option(
        help:
            "A JSONL file: one request per line, as bedrock.converse takes it ({\"messages\": …}) or, with --format invoke, the model's native body."
    )
    var records: String?
    @Option(help: "Where the records go (a .jsonl key or a folder), or with no --records the JSONL already in S3.")
    var input: String?
    @Option(help: "The s3:// folder the job writes its results to.") var output: String
    @Option(name: .customLong("role-arn"), help: "The IAM role the service reads and writes S3 as.") var roleArn: String
    @Option(help: "The job name (default quarry-…).") var name: String?
    @Option(name: .customLong("timeout-hours"), help: "24 to 168.") var timeoutHours: Int?
    @Option(help: "converse (default) or invoke.") var format: String?
    @Option(help: "Wait for the job, polling every this many seconds (progress on stderr).") var wait: Double?

    func validate() throws {
        if let format, format != "converse", format != "invoke" {
            throw ValidationError("--format must be converse or invoke, got '\(format)'")
        }
        if let wait, !(wait > 0 && wait <= 3600) {
            throw ValidationError("--wait must be a number of seconds > 0 and <= 3600")
        }
        if records == nil && input == nil { throw ValidationError("give --records FILE or --input s3://…") }
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
        var lines = ""
        if let records {
            do {
                lines = try ScriptSource.readText(path: records)
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
        try await BatchCommand.run(host, ["submit", encoded, lines, wait.map { String($0) } ?? ""])
    }
}

/// `quarry batch status ID`: the job's status as JSON.
struct BatchStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Print a job's status as JSON.")
    @OptionGroup var host: HostOptions
    @Argument(help: "The job id or ARN.") var job: String
    func run() async throws { try await BatchCommand.run(host, ["status", job]) }
}

/// `quarry batch results ID --output s3://…`: one JSON line per record, in input order.
struct BatchResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results", abstract: "Print a finished job's results, one JSON line per record.")
    @OptionGroup var host: HostOptions
    @Argument(help: "The job id or ARN.") var job: String
    @Option(help: "The s3:// folder the job was given as its output.") var output: String
    func run() async throws { try await BatchCommand.run(host, ["results", job, output]) }
}

/// `quarry batch stop ID`: asks the service to stop the job.
struct BatchStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a job.")
    @OptionGroup var host: HostOptions
    @Argument(help: "The job id or ARN.") var job: String
    func run() async throws { try await BatchCommand.run(host, ["stop", job]) }
}
