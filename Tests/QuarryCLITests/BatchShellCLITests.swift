import Foundation
import Quarry
import Testing

/// `quarry batch` as a new user meets it from the README (issue 21's potholes), through
/// the real binary against a real `quarry emulator` or the built-in one.
@Suite(.serialized) struct BatchShellCLITests {
    static let role = BatchCLITests.role
    static let model = "amazon.nova-micro-v1:0"

    /// A `quarry emulator` with fast job steps, its endpoint and a scratch folder.
    struct Running {
        let emulator: EmulatorCommandTests.RunningEmulator
        let endpoint: String
        let dir: URL

        static func start(stepSeconds: Double = 0.01) async throws -> Running {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-batch-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let config = dir.appendingPathComponent("emulator.json")
            try Data(#"{"batch_step_seconds": \#(stepSeconds)}"#.utf8).write(to: config)
            let emulator = try EmulatorCommandTests.RunningEmulator(["--port", "0", "--config", config.path])
            _ = try await emulator.waitFor("Press Ctrl-C")
            let endpoint = try #require(emulator.value(after: "endpoint:"))
            return Running(emulator: emulator, endpoint: endpoint, dir: dir)
        }

        func stop() {
            if emulator.process.isRunning { emulator.process.terminate() }
            try? FileManager.default.removeItem(at: dir)
        }

        /// A JSONL file of `count` small Converse requests.
        func records(_ count: Int) throws -> String {
            let file = dir.appendingPathComponent("records-\(count).jsonl")
            let lines = (1...count).map { #"{"messages": "line \#($0)", "inference": {"max_tokens": 8}}"# }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            return file.path
        }

        /// `noAWS` with `QUARRY_EMULATOR_URL` naming this emulator.
        var environment: [String: String] {
            var env = HostCLITests.noAWS
            env["QUARRY_EMULATOR_URL"] = endpoint
            return env
        }

        /// Polls `quarry batch status` until the job ends; the last result.
        func waitForEnd(_ id: String, environment: [String: String]) async throws -> QuarryProcess.Result {
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                let status = try QuarryProcess.run(["batch", "status", "--quiet", id], environment: environment)
                if !status.stdout.contains(#""done":false"#) || ContinuousClock.now > deadline { return status }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Item 1a: `--target emulator --endpoint URL` and `QUARRY_EMULATOR_URL` reach a
    /// running emulator as an emulator target (buckets made on first use, no policy
    /// flags needed), so a job submitted by one command is found by the next. Item 3:
    /// results from a wrong folder are an error naming where it looked. Item 7: list.
    @Test func runningEmulatorServesEveryCommand() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--target", "emulator", "--endpoint", running.endpoint, "--model",
                Self.model, "--records", try running.records(100), "--output", "s3://fresh-bucket/jobs/",
                "--role-arn", Self.role, "--name", "env-job",
            ], environment: HostCLITests.noAWS)
        #expect(submit.status == 0, "\(submit.stderr)")
        let id = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!id.isEmpty && id.allSatisfy { $0.isLetter || $0.isNumber }, "\(submit.stdout)")

        let status = try await running.waitForEnd(id, environment: running.environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains(#""status":"Completed""#), "\(status.stdout)")

        let results = try QuarryProcess.run(
            ["batch", "results", "--quiet", id, "--output", "s3://fresh-bucket/jobs/"], environment: running.environment
        )
        #expect(results.status == 0, "\(results.stderr)")
        #expect(results.stdout.split(separator: "\n").count == 100)

        let wrong = try QuarryProcess.run(
            ["batch", "results", "--quiet", id, "--output", "s3://fresh-bucket/elsewhere"],
            environment: running.environment)
        #expect(wrong.status == 1)
        #expect(wrong.stdout.isEmpty)
        #expect(wrong.stderr.contains("writes its results to s3://fresh-bucket/jobs/"), "\(wrong.stderr)")

        let list = try QuarryProcess.run(["batch", "list", "--quiet"], environment: running.environment)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("env-job\t\(id)\tCompleted\t"), "\(list.stdout)")
        let failedOnly = try QuarryProcess.run(
            ["batch", "list", "--quiet", "--status", "Failed"], environment: running.environment)
        #expect(failedOnly.status == 0, "\(failedOnly.stderr)")
        #expect(!failedOnly.stdout.contains(id), "\(failedOnly.stdout)")
    }

    /// Item 1b: on an AWS target, `--endpoint` moves Bedrock and S3 with Bedrock Runtime
    /// (as `AWS_ENDPOINT_URL` does). A stray call to real AWS meets a closed proxy on
    /// loopback rather than leaving the machine.
    @Test func endpointOnAnAWSTargetCoversBatchCalls() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let environment = HostCLITests.testKeysAsAWS(closedProxy: true)
        // Reached as AWS, the bucket must exist beforehand.
        let made = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--target", "emulator", "--endpoint", running.endpoint, "--model",
                Self.model, "--records", try running.records(100), "--output", "s3://aws-bucket/setup/",
                "--role-arn", Self.role,
            ], environment: HostCLITests.noAWS)
        #expect(made.status == 0, "\(made.stderr)")
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--target", "aws", "--endpoint", running.endpoint, "--allow-bucket",
                "aws-bucket/jobs", "--allow-role", Self.role, "--model", Self.model, "--records",
                try running.records(100), "--output", "s3://aws-bucket/jobs/", "--role-arn", Self.role,
            ], environment: environment)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(!submit.stderr.contains("amazonaws.com"), "\(submit.stderr)")
    }

    /// Item 1b: with only Bedrock Runtime moved (the old banner's export), a batch
    /// submit warns that its Bedrock and S3 calls would go to AWS itself.
    @Test func runtimeOnlyEndpointWarns() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        var environment = HostCLITests.testKeysAsAWS(closedProxy: true)
        environment["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = running.endpoint
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--allow-bucket", "bkt/jobs", "--allow-role", Self.role, "--model",
                Self.model, "--records", try running.records(100), "--output", "s3://bkt/jobs/", "--role-arn",
                Self.role,
            ], environment: environment)
        #expect(submit.status == 1)
        #expect(
            submit.stderr.contains(
                "warning: Bedrock Runtime calls go to \(running.endpoint) but batch calls go to AWS"),
            "\(submit.stderr)")
        #expect(submit.stderr.contains("s3.us-east-1.amazonaws.com"), "\(submit.stderr)")
        #expect(submit.stderr.contains("QUARRY_EMULATOR_URL"), "\(submit.stderr)")
    }

    /// Item 1c: the banner says how to point quarry and the AWS SDKs at the emulator.
    @Test func bannerNamesTheGlobalEndpointAndQuarrysVariable() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let banner = running.emulator.output
        #expect(banner.contains("export AWS_ENDPOINT_URL=\(running.endpoint)\n"), "\(banner)")
        #expect(banner.contains("export QUARRY_EMULATOR_URL=\(running.endpoint) "), "\(banner)")
        #expect(banner.contains("--target emulator --endpoint \(running.endpoint)"), "\(banner)")
    }

    /// Items 2, 3 and 7: `--wait` waits for the end (no value), `--results` prints them,
    /// progress lines carry counts and the final state is printed once.
    @Test func submitWaitResultsOnTheBuiltInEmulator() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(120),
                "--output", "s3://bkt/jobs/", "--role-arn", Self.role, "--wait", "--results",
            ], environment: HostCLITests.noAWS)
        #expect(submit.status == 0, "\(submit.stderr)")
        let out = submit.stdout.split(separator: "\n")
        #expect(out.count == 120, "\(submit.stdout.prefix(400))")
        // With --results stdout is JSONL only: the id is on stderr.
        var progress = submit.stderr.split(separator: "\n")
        let id = String(progress.first?.dropFirst("batch job ".count) ?? "")
        if !progress.isEmpty { progress.removeFirst() }
        #expect(out.first?.contains(#""record_id":"R00000001""#) == true)
        #expect(!progress.isEmpty)
        for line in progress {
            #expect(line.hasPrefix("batch \(id): ") && line.hasSuffix("/120 records"), "\(submit.stderr)")
        }
        #expect(progress.filter { $0.contains("Completed") } == ["batch \(id): Completed 120/120 records"])

        // The old form, `--wait SECONDS`, is a usage error that says what changed.
        let old = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(120),
                "--output", "s3://bkt/jobs/", "--role-arn", Self.role, "--wait", "60",
            ], environment: HostCLITests.noAWS)
        #expect(old.status == 2)
        #expect(old.stderr.contains("--wait takes no value"), "\(old.stderr)")
        #expect(old.stderr.contains("--poll 60"), "\(old.stderr)")
    }

    /// Item 3: a job that ended Stopped makes `status` exit 1 with the status on
    /// stderr, and `results` say it was stopped before writing anything.
    @Test func stoppedJobExitsOne() async throws {
        let running = try await Running.start(stepSeconds: 0.5)
        defer { running.stop() }
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(100),
                "--output", "s3://stop-bucket/jobs/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(submit.status == 0, "\(submit.stderr)")
        let id = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stop = try QuarryProcess.run(["batch", "stop", "--quiet", id], environment: running.environment)
        #expect(stop.status == 0, "\(stop.stderr)")
        let status = try await running.waitForEnd(id, environment: running.environment)
        #expect(status.stdout.contains(#""status":"Stopped""#), "\(status.stdout)")
        #expect(status.status == 1)
        #expect(status.stderr.contains("batch \(id): Stopped"), "\(status.stderr)")
        let results = try QuarryProcess.run(
            ["batch", "results", "--quiet", id, "--output", "s3://stop-bucket/jobs/"], environment: running.environment)
        #expect(results.status == 1)
        #expect(results.stderr.contains("was stopped before it wrote any results"), "\(results.stderr)")
    }

    /// Item 2: a job looked up on a fresh built-in emulator is not found, and the error
    /// says why and what to do.
    @Test func notFoundOnTheBuiltInEmulatorExplains() throws {
        let status = try QuarryProcess.run(
            ["batch", "status", "--quiet", "abcdefghij12"], environment: HostCLITests.noAWS)
        #expect(status.status == 1)
        #expect(status.stderr.contains("lived only inside the command that submitted"), "\(status.stderr)")
        #expect(status.stderr.contains("QUARRY_EMULATOR_URL"), "\(status.stderr)")
        #expect(status.stderr.contains("submit --wait --results"), "\(status.stderr)")
        let list = try QuarryProcess.run(["batch", "list", "--quiet"], environment: HostCLITests.noAWS)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.isEmpty)
        #expect(list.stderr.contains("the built-in emulator starts empty in every command"), "\(list.stderr)")
    }

    /// Item 4: the documented maximum of 50,000 records goes through the CLI.
    @Test func fiftyThousandRecordsFromTheShell() async throws {
        let running = try await Running.start(stepSeconds: 5)
        defer { running.stop() }
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(50_000),
                "--output", "s3://big/jobs/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(!submit.stdout.isEmpty)
    }

    /// Item 4 (Lua): records over the crossing limit get advice, not only the limit.
    @Test func tooManyTableElementsSaysWhatToDo() throws {
        let script = """
            local records = {} for i = 1, 50000 do records[i] = {messages = 'x', inference = {max_tokens = 8}} end
            bedrock.batch{model = '\(Self.model)', records = records, output = 's3://bkt/o/', role_arn = '\(Self.role)'}
            """
        let r = try QuarryProcess.run(["--quiet", "-e", script], environment: HostCLITests.noAWS)
        #expect(r.status == 1)
        #expect(r.stderr.contains("table elements"), "\(r.stderr)")
        #expect(r.stderr.contains(#"input = "s3://"#), "\(r.stderr)")
        #expect(r.stderr.contains("several jobs"), "\(r.stderr)")
    }

    /// Items 5 and 6: messages in shell terms (flags, no chunk positions, no Lua, no
    /// Swift names), and a below-minimum job suggests `map` in shell terms.
    @Test func messagesSpeakShell() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let noModel = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--records", try running.records(100), "--output", "s3://bkt/o/",
                "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(noModel.status == 2)
        #expect(noModel.stderr.contains("--model is required"), "\(noModel.stderr)")

        let noFile = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", "nofile.jsonl", "--output",
                "s3://bkt/o/",
                "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(noFile.status == 2)
        #expect(noFile.stderr.contains("cannot read records file 'nofile.jsonl': no such file"), "\(noFile.stderr)")

        let aws = HostCLITests.testKeysAsAWS(closedProxy: true)
        let policy = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--target", "aws", "--model", Self.model, "--records",
                try running.records(100), "--output", "s3://bkt/o/", "--role-arn", Self.role,
            ], environment: aws)
        #expect(policy.status == 1)
        #expect(policy.stderr.contains("--allow-role"), "\(policy.stderr)")
        #expect(!policy.stderr.contains("HostPolicy"), "\(policy.stderr)")
        #expect(!policy.stderr.contains("quarry batch:"), "\(policy.stderr)")

        let few = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(1),
                "--output", "s3://bkt/o/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(few.status == 1)
        #expect(few.stderr.contains("1 record is below the minimum"), "\(few.stderr)")
        #expect(few.stderr.contains("quarry --model \(Self.model) -e"), "\(few.stderr)")
        #expect(!few.stderr.contains("map(records"), "\(few.stderr)")
        #expect(!few.stderr.contains("quarry batch:"), "\(few.stderr)")
    }

    /// Item 6 (Lua): the suggested `map` code runs as given (each call names its model).
    @Test func belowMinimumSuggestionRuns() throws {
        let script = """
            local records = {{messages = 'hello'}}
            local ok, e = pcall(bedrock.batch, {model = '\(Self.model)', records = records,
                                output = 's3://bkt/o/', role_arn = '\(Self.role)'})
            local code = e.message:match("(map%(records, function%(r%).-end, {concurrency = 8}%))")
            assert(code, e.message)
            local results = load("local records = ... return " .. code)(records)
            print(#results, results[1].text ~= nil)
            """
        let r = try QuarryProcess.run(["--quiet", "-e", script], environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "1\ttrue\n", "\(r.stdout)")
    }

    /// Item 7: the root usage names every subcommand.
    @Test func usageNamesBatch() throws {
        let r = try QuarryProcess.run(["--no-such-flag"], environment: HostCLITests.noAWS)
        #expect(r.status == 2)
        #expect(r.stderr.contains("(subcommands: run, test, emulator, audit, batch)"), "\(r.stderr)")
    }
}
