import ArgumentParser
import Foundation
import Quarry
import QuarryEmulatorSupport
import Synchronization

/// Where calls go, what scripts may do, and the sandbox limits: shared by `run`, `-e`,
/// the REPL and `test`.
struct HostOptions: ParsableArguments {
    @Option(help: "AWS region (default: AWS_REGION, the profile, or the emulator's us-east-1).")
    var region: String?
    @Option(help: "AWS profile from ~/.aws/config.")
    var profile: String?
    @Option(
        help:
            "A custom endpoint URL. With --target emulator: a running 'quarry emulator' (as QUARRY_EMULATOR_URL). On AWS: where Bedrock Runtime, Bedrock and S3 calls go (as AWS_ENDPOINT_URL), unless AWS_ENDPOINT_URL_BEDROCK / AWS_ENDPOINT_URL_S3 name others."
    )
    var endpoint: String?
    @Option(
        help:
            "Where calls go: auto (a running emulator if QUARRY_EMULATOR_URL is set, else AWS if credentials are configured, else the built-in emulator), aws, or emulator."
    )
    var target: String?
    @Option(
        help: "Model used by calls that do not name one (quarry batch submit: required, the model of every record).")
    var model: String?
    @Flag(help: "Do not print the notice when the built-in emulator is used.")
    var quiet = false

    @Option(name: .customLong("allow-model"), help: "Allow only models matching this glob (repeatable).")
    var allowedModels: [String] = []
    @Option(name: .customLong("allow-region"), help: "Allow only regions matching this glob (repeatable).")
    var allowedRegions: [String] = []
    @Option(
        name: .customLong("allow-endpoint"),
        help:
            "Let scripts send to custom endpoints matching scheme://host[:port|:*] with bedrock.client{endpoint=…}; '*' matches within one host label, a leading '**.' any labels (repeatable; none by default)."
    )
    var allowedEndpoints: [String] = []
    @Option(
        name: .customLong("allow-profile"),
        help:
            "Let scripts switch to AWS profiles matching this glob with bedrock.client{profile=…} (repeatable; none by default)."
    )
    var allowedProfiles: [String] = []
    @Option(
        name: .customLong("allow-bucket"),
        help:
            "Let batch jobs (bedrock.batch) read and write this S3 bucket, or only keys under bucket/prefix (repeatable; none by default on AWS, any on the emulator)."
    )
    var allowedBuckets: [String] = []
    @Option(
        name: .customLong("allow-role"),
        help:
            "Let batch jobs run as this IAM role ARN, or '*' for any (repeatable; none by default on AWS, any on the emulator)."
    )
    var allowedRoles: [String] = []
    @Option(name: .customLong("max-concurrency"), help: "Most Bedrock calls in flight at once.")
    var maxConcurrency: Int?
    @Option(
        name: .customLong("call-budget"),
        help: "Most Bedrock calls the script may make (quarry batch submit refuses to run under a budget).")
    var callBudget: Int?
    @Option(name: .customLong("token-budget"), help: "Most tokens (input + maxTokens) the script may use.")
    var tokenBudget: Int?

    @Option(name: .customLong("max-memory"), help: "Lua memory limit in MiB (default 64; quarry batch: 1024).")
    var maxMemory: Int?
    @Option(
        name: .customLong("max-instructions"),
        help: "Lua instruction budget (default 10000000000, about a minute of plain Lua); scripts only.")
    var maxInstructions: Int64?
    @Option(
        name: .customLong("max-seconds"),
        help: "Wall-clock limit for a run in seconds (default 600); quarry batch: 8 days.")
    var maxSeconds: Double?
    @Option(name: .customLong("max-output"), help: "Most bytes of print output (default 1 MiB); scripts only.")
    var maxOutput: Int?
    @Option(
        name: .customLong("max-host-calls"), help: "Most host calls per run (default 10000; quarry batch: 10000000).")
    var maxHostCalls: Int64?

    @Option(
        name: .customLong("audit"),
        help: ArgumentHelp(
            "Append a hash-chained JSON Lines audit record of every Bedrock call and policy refusal to this file (mode 0600; default: QUARRY_AUDIT_LOG).",
            valueName: "file"))
    var auditFile: String?
    @Flag(
        name: .customLong("audit-content"),
        help: "Put prompts and answers in the audit log (by default only their SHA-256 digests).")
    var auditContent = false

    func validate() throws {
        if let target, !["auto", "aws", "emulator"].contains(target) {
            throw ValidationError("--target must be auto, aws or emulator, got '\(target)'")
        }
        var counts: [(String, Int64?)] = []
        counts.append(("--max-memory", maxMemory.map { Int64($0) }))
        counts.append(("--max-instructions", maxInstructions))
        counts.append(("--max-output", maxOutput.map { Int64($0) }))
        counts.append(("--max-host-calls", maxHostCalls))
        counts.append(("--max-concurrency", maxConcurrency.map { Int64($0) }))
        counts.append(("--call-budget", callBudget.map { Int64($0) }))
        counts.append(("--token-budget", tokenBudget.map { Int64($0) }))
        for (name, value) in counts {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1, got \(value)") }
        }
        // MiB shifted into bytes: keep it far from overflowing (the REPL's :limits says 8G).
        if let maxMemory, maxMemory > 1 << 20 {
            throw ValidationError("--max-memory must be at most 1048576 (MiB), got \(maxMemory)")
        }
        if let maxSeconds, !(maxSeconds > 0 && maxSeconds <= ScriptNumber.maxSeconds) {
            throw ValidationError(
                "--max-seconds must be a number of seconds > 0 and ≤ \(Int(ScriptNumber.maxSeconds)), got \(RunLimits.text(maxSeconds))"
            )
        }
        do { try policy.validate() } catch {
            let text = "\(error)"
            let flag =
                text.contains("allowed bucket")
                ? "--allow-bucket" : text.contains("allowed role") ? "--allow-role" : "--allow-endpoint"
            throw ValidationError("\(flag): \(error)")
        }
    }

    /// The audit log `--audit` or `QUARRY_AUDIT_LOG` names, nil for none. Every host a
    /// process makes shares one run id.
    var audit: AuditLog? {
        let path =
            auditFile ?? ProcessInfo.processInfo.environment["QUARRY_AUDIT_LOG"].flatMap { $0.isEmpty ? nil : $0 }
        return path.map {
            AuditLog(file: URL(fileURLWithPath: $0), includeContent: auditContent, runId: Self.processRunId)
        }
    }

    static let processRunId = UUID().uuidString.lowercased()

    /// Refuses to start (exit 2) when the audit log cannot be opened for appending, so a
    /// run never makes a call it cannot record.
    func checkAudit() throws {
        guard let audit else { return }
        do {
            try audit.checkWritable()
        } catch {
            Terminal.standardError("quarry: \(error)\n")
            throw ExitCode(2)
        }
    }

    /// The policy these flags describe (permissive where they say nothing).
    var policy: HostPolicy {
        var limits = LuaLimits()
        // A user's own workflow against real Bedrock runs longer than an app's embedded
        // scripts: the CLI's defaults are wider than the library's (see RunLimits).
        limits.instructions = RunLimits.instructions
        limits.seconds = RunLimits.seconds
        if let maxMemory { limits.memoryBytes = maxMemory << 20 }
        if let maxInstructions { limits.instructions = maxInstructions }
        if let maxSeconds { limits.seconds = maxSeconds }
        if let maxOutput { limits.outputBytes = maxOutput }
        if let maxHostCalls { limits.hostCalls = maxHostCalls }
        var policy = HostPolicy(limits: limits)
        if !allowedModels.isEmpty { policy.allowedModels = allowedModels }
        if !allowedRegions.isEmpty { policy.allowedRegions = allowedRegions }
        if !allowedProfiles.isEmpty { policy.allowedProfiles = allowedProfiles }
        policy.allowedEndpoints = allowedEndpoints
        policy.allowedBuckets = allowedBuckets
        policy.allowedRoles = allowedRoles
        if let maxConcurrency { policy.maxConcurrentCalls = maxConcurrency }
        policy.callBudget = callBudget
        policy.tokenBudget = tokenBudget
        return policy
    }

    /// Resolves the target, printing a one-line notice on stderr when the built-in
    /// emulator stands in for AWS.
    func resolveTarget(middlewares: [any TransportMiddleware] = [ClientFaultInjector()]) async throws -> QuarryTarget {
        if let running = try runningEmulator(middlewares: middlewares) { return running }
        let preference: QuarryTarget.Preference? =
            switch target {
            case "aws": .aws
            case "emulator": .emulator
            case "auto": .automatic
            default: nil
            }
        let resolved = try await QuarryTarget.resolve(
            region: region, profile: profile, endpoint: endpoint,
            preference: preference, middlewares: middlewares,
            localEmulator: .inProcess, regionSource: "the --region flag")
        if resolved.isEmulator, !quiet {
            let reason =
                preference == .emulator || ProcessInfo.processInfo.environment["QUARRY_TARGET"] == "emulator"
                ? "as asked" : "no AWS credentials are configured"
            Terminal.standardError("quarry: using the built-in Bedrock emulator (\(reason)): \(resolved.description)\n")
        }
        return resolved
    }

    /// The environment variable that names a running `quarry emulator` for every command.
    static let emulatorURLVariable = "QUARRY_EMULATOR_URL"
    /// The running emulator's admin token (for `emulator.*` calls; batch jobs need none).
    static let emulatorTokenVariable = "QUARRY_EMULATOR_ADMIN_TOKEN"

    /// A target for an emulator that is already running (`quarry emulator`), named by
    /// `--target emulator --endpoint URL` or by `QUARRY_EMULATOR_URL` (unless `--target`
    /// or `QUARRY_TARGET` says aws); nil when neither names one. It is an emulator
    /// target: buckets are made on first use and any bucket and role are allowed unless
    /// the policy flags say otherwise.
    func runningEmulator(middlewares: [any TransportMiddleware]) throws -> QuarryTarget? {
        let environment = ProcessInfo.processInfo.environment
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let chosen = (target ?? value("QUARRY_TARGET"))?.lowercased()
        let url: String
        let source: String
        if chosen == "emulator", let endpoint {
            (url, source) = (endpoint, "--endpoint")
        } else if chosen != "aws", let named = value(Self.emulatorURLVariable) {
            if endpoint != nil {
                throw CLIUsageError(
                    "\(Self.emulatorURLVariable) names a running emulator; --endpoint is for AWS targets "
                        + "(pass --target aws to use it, or unset \(Self.emulatorURLVariable))")
            }
            (url, source) = (named, Self.emulatorURLVariable)
        } else {
            return nil
        }
        let parsed: BedrockEndpoint
        do {
            parsed = try BedrockEndpoint(validating: url)
        } catch {
            throw CLIUsageError(
                "\(source) must be the URL 'quarry emulator' printed (http://127.0.0.1:7555): \(error)")
        }
        let chosenRegion = region ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        let ca = parsed.url.hasPrefix("https:") ? value("AWS_CA_BUNDLE") : nil
        let running = QuarryTarget.emulator(
            url: parsed.url, adminToken: value(Self.emulatorTokenVariable) ?? "", region: chosenRegion,
            caCertificatePath: ca, middlewares: middlewares)
        if !quiet {
            Terminal.standardError("quarry: using the Bedrock emulator at \(parsed.url) (from \(source))\n")
        }
        return running
    }

    /// A host on the resolved target with these flags' policy.
    /// The REPL asks for `.session` (globals live from line to line); a script run gets
    /// the default, a fresh environment per run.
    /// `print` and `write` reach `output` (by default standard output) and `stderr.write`
    /// reaches standard error as the exact bytes written (Lua strings are bytes), and
    /// `input`'s bytes reach `stdin.read` unchanged.
    func makeHost(
        target: QuarryTarget, output: @escaping @Sendable ([UInt8]) -> Void = Terminal.standardOutputBytes,
        input: (@Sendable () async -> [UInt8]?)? = nil, crossingItems: Int? = nil, noInputReason: String? = nil,
        isolation: QuarryHost.Isolation = .perRun
    ) async throws -> QuarryHost {
        var options = QuarryHost.Options(policy: policy, output: Terminal.standardOutput, defaultModel: model)
        options.maxCrossingItems = crossingItems
        options.inputBytes = input
        options.noInputReason = noInputReason
        options.outputBytes = output
        options.errorOutputBytes = Terminal.standardErrorBytes
        options.audit = audit
        options.isolation = isolation
        let host = try await QuarryHost(target: target, options: options)
        // The same Lua API everywhere: fault injection, the emulator's admin calls, metrics
        // and resilience patterns are as available to `run`, `-e` and the REPL as to `test`.
        for module: any QuarryModule in [FaultModule(), EmulatorModule(), MetricsModule(), ResilienceModule()] {
            try await host.install(module)
        }
        return host
    }
}

/// A configuration mistake on the command line, said in its terms.
struct CLIUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The limits `quarry run`, `-e` and `quarry test` use unless a flag says otherwise:
/// wide enough for a real batch against Bedrock (a 10-minute wall clock, about a minute
/// of plain Lua). `QuarryHost` keeps `LuaLimits`' strict defaults for embedding apps.
enum RunLimits {
    /// Budget units per run.
    static let instructions: Int64 = 10_000_000_000
    /// Wall-clock seconds per run.
    static let seconds: Double = 600

    /// A number as the user would write it.
    static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// Lines of standard input for `stdin.read`/`stdin.lines`, read off the Lua thread.
enum StandardInput {
    /// The longest piece one read returns (the sandbox's 16 MiB string limit): a longer
    /// line comes in pieces, so no read holds more than this however long the line is.
    static let maxPieceBytes = 16 << 20

    /// The next line with its newline, or a piece of at most `maxPieceBytes` of a longer
    /// one; nil at the end of input. Read off the cooperative pool.
    @Sendable static func line() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: reader.nextLine(limit: maxPieceBytes)) }
        }
    }

    private static let reader = BoundedLineReader(fileDescriptor: 0)
}

/// Reads lines from a file descriptor with a bounded buffer (Foundation's `readLine`
/// keeps reading a line of any length into memory).
final class BoundedLineReader: @unchecked Sendable {
    private let fd: Int32
    private let lock = Mutex(())
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(fileDescriptor: Int32) { fd = fileDescriptor }

    /// The bytes up to and including the next newline, at most `limit` of them.
    func nextLine(limit: Int) -> [UInt8]? {
        lock.withLock { _ in
            var scanned = start
            while true {
                if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")), newline - start < limit {
                    return take(through: newline + 1)
                }
                scanned = buffer.count
                if buffer.count - start >= limit { return take(through: start + limit) }
                if atEnd { return buffer.count > start ? take(through: buffer.count) : nil }
                if start > 0 { buffer.removeFirst(start); scanned -= start; start = 0 }
                var chunk = [UInt8](repeating: 0, count: 64 * 1024)
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { buffer.append(contentsOf: chunk[0..<n]) } else if n == 0 || errno != EINTR { atEnd = true }
            }
        }
    }

    private func take(through end: Int) -> [UInt8] {
        let line = Array(buffer[start..<end])
        start = end
        return line
    }
}

/// Writing to the terminal's streams without buffering surprises. When the reader has gone
/// (`quarry run x.lua | head -1`), quarry ends as `lua` does: quietly, by SIGPIPE.
enum Terminal {
    @Sendable static func standardOutput(_ text: String) { standardOutputBytes(Array(text.utf8)) }
    @Sendable static func standardError(_ text: String) { standardErrorBytes(Array(text.utf8)) }
    /// The exact bytes a script wrote, to standard output.
    @Sendable static func standardOutputBytes(_ bytes: [UInt8]) { endIfReaderGone(StandardStream.output.write(bytes)) }
    /// The exact bytes a script wrote, to standard error.
    @Sendable static func standardErrorBytes(_ bytes: [UInt8]) { endIfReaderGone(StandardStream.error.write(bytes)) }

    private static func endIfReaderGone(_ outcome: StandardStream.Outcome) {
        guard outcome == .readerGone else { return }
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
    }
}
