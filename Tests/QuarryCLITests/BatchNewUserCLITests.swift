import Foundation
import Quarry
import Testing

/// `quarry batch` as a second new user met it (issue 21's second walkthrough), through
/// the real binary against a real `quarry emulator` or the built-in one.
@Suite(.serialized) struct BatchNewUserCLITests {
    typealias Running = BatchShellCLITests.Running
    static let role = BatchCLITests.role
    static let model = BatchShellCLITests.model

    /// Item 1 and 4: `results` without `--output` reads the job's own folder; a wrong
    /// `--output` is an error naming the job's folder; `status` shows where the job
    /// reads and writes, and always has `total`.
    @Test func resultsDefaultToTheJobsOwnFolder() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(100),
                "--output", "s3://own-bucket/jobs/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(submit.status == 0, "\(submit.stderr)")
        let id = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = try await running.waitForEnd(id, environment: running.environment)
        #expect(status.stdout.contains(#""output":"s3://own-bucket/jobs/""#), "\(status.stdout)")
        #expect(status.stdout.contains(#""input":"s3://own-bucket/jobs/quarry-input/"#), "\(status.stdout)")
        #expect(status.stdout.contains(#""total":100"#), "\(status.stdout)")

        let results = try QuarryProcess.run(["batch", "results", "--quiet", id], environment: running.environment)
        #expect(results.status == 0, "\(results.stderr)")
        #expect(results.stdout.split(separator: "\n").count == 100)

        let wrong = try QuarryProcess.run(
            ["batch", "results", "--quiet", id, "--output", "s3://own-bucket/wrong/"], environment: running.environment)
        #expect(wrong.status == 1)
        #expect(wrong.stdout.isEmpty)
        #expect(wrong.stderr.contains("writes its results to s3://own-bucket/jobs/"), "\(wrong.stderr)")
    }

    /// Item 4: while the service has not counted the records, `total` is null, not absent.
    @Test func statusAlwaysHasTotal() async throws {
        let running = try await Running.start(stepSeconds: 5)
        defer { running.stop() }
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--input", "s3://in-bucket/none.jsonl",
                "--output", "s3://in-bucket/out/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(submit.status == 0, "\(submit.stderr)")
        let id = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = try QuarryProcess.run(["batch", "status", "--quiet", id], environment: running.environment)
        #expect(status.stdout.contains(#""total":null"#), "\(status.stdout)")
        #expect(status.stdout.contains(#""output":"s3://in-bucket/out/""#), "\(status.stdout)")
    }

    /// Item 2 and 3: on the built-in emulator a submit that does not wait for results
    /// warns that the job ends with the command; with `--wait --results` stdout is JSONL
    /// only (the id goes to stderr).
    @Test func builtInEmulatorSubmitWarnsAndResultsAreJSONL() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let records = try running.records(100)
        let plain = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", records, "--output",
                "s3://bkt/jobs/", "--role-arn", Self.role,
            ], environment: HostCLITests.noAWS)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("the built-in emulator ends with this command"), "\(plain.stderr)")
        #expect(plain.stderr.contains("--wait --results"), "\(plain.stderr)")
        #expect(plain.stderr.contains("QUARRY_EMULATOR_URL"), "\(plain.stderr)")

        let full = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", records, "--output",
                "s3://bkt/jobs/", "--role-arn", Self.role, "--wait", "--results",
            ], environment: HostCLITests.noAWS)
        #expect(full.status == 0, "\(full.stderr)")
        #expect(!full.stderr.contains("ends with this command"), "\(full.stderr)")
        let lines = full.stdout.split(separator: "\n")
        #expect(lines.count == 100)
        for line in lines { #expect(line.hasPrefix("{"), "\(line)") }
        #expect(full.stderr.contains("batch job "), "\(full.stderr)")
    }

    /// Item 5: a dead `QUARRY_EMULATOR_URL` says so in the user's terms, without NIO's words.
    @Test func deadEmulatorURLSaysSo() throws {
        var environment = HostCLITests.noAWS
        environment["QUARRY_EMULATOR_URL"] = "http://127.0.0.1:9"
        let list = try QuarryProcess.run(["batch", "list", "--quiet"], environment: environment)
        #expect(list.status == 1)
        #expect(
            list.stderr.contains(
                "no emulator answering at http://127.0.0.1:9 (QUARRY_EMULATOR_URL): is `quarry emulator` running?"),
            "\(list.stderr)")
        #expect(!list.stderr.contains("errno"), "\(list.stderr)")
        let status = try QuarryProcess.run(["batch", "status", "--quiet", "abcdefghij12"], environment: environment)
        #expect(status.status == 1)
        #expect(status.stderr.contains("no emulator answering at http://127.0.0.1:9"), "\(status.stderr)")
        // Elsewhere a refused connection names who refused it, not NIO's text.
        let run = try QuarryProcess.run(
            [
                "--quiet", "-e",
                "local ok, e = pcall(bedrock.converse, {model = 'amazon.nova-micro-v1:0', messages = 'hi'}) print(e.message)",
            ],
            environment: environment)
        #expect(run.stdout.contains("connection refused by 127.0.0.1:9"), "\(run.stdout) \(run.stderr)")
        #expect(!run.stdout.contains("errno"), "\(run.stdout)")
    }

    /// Item 6: host flags before `batch` work as they do before `run`.
    @Test func rootFlagsBeforeBatch() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let quiet = try QuarryProcess.run(["--quiet", "batch", "list"], environment: HostCLITests.noAWS)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("using the built-in Bedrock emulator"), "\(quiet.stderr)")
        let pointed = try QuarryProcess.run(
            ["--target", "emulator", "--endpoint", running.endpoint, "batch", "list"], environment: HostCLITests.noAWS)
        #expect(pointed.status == 0, "\(pointed.stderr)")
        #expect(pointed.stderr.contains("using the Bedrock emulator at"), "\(pointed.stderr)")
    }

    /// Item 9: a missing bucket (on an AWS target, where buckets are not made) is named.
    @Test func noSuchBucketNamesIt() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let environment = HostCLITests.testKeysAsAWS()
        let submit = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--target", "aws", "--endpoint", running.endpoint, "--model",
                Self.model, "--records", try running.records(100), "--output", "s3://no-such-bucket/o/",
                "--role-arn", Self.role, "--allow-bucket", "no-such-bucket", "--allow-role", Self.role,
            ], environment: environment)
        #expect(submit.status == 1)
        #expect(submit.stderr.contains("the bucket 'no-such-bucket' does not exist"), "\(submit.stderr)")
    }

    /// Item 8: batch help states batch's own limits and that submit needs --model.
    @Test func batchHelpStatesItsDefaults() throws {
        let help = try QuarryProcess.run(["batch", "submit", "--help"], environment: HostCLITests.noAWS)
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("--max-seconds 8 days"), "\(help.stdout)")
        #expect(text.contains("--model is required"), "\(help.stdout)")
        #expect(text.contains("quarry batch: 8 days"), "\(help.stdout)")
        let status = try QuarryProcess.run(["batch", "status", "--help"], environment: HostCLITests.noAWS)
        let statusText = status.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(statusText.contains("null until the service has counted the records"), "\(status.stdout)")
    }

    /// Item 9: the `map` hint names the user's file; `--records -` reads stdin; a bad
    /// `--output` is a usage error (exit 2) as a missing one is.
    @Test func smallerPotholes() async throws {
        let running = try await Running.start()
        defer { running.stop() }
        let few = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(1),
                "--output", "s3://bkt/o/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(few.status == 1)
        #expect(few.stderr.contains("< \(try running.records(1))"), "\(few.stderr)")

        let lines = (1...100).map { #"{"messages": "stdin \#($0)"}"# }.joined(separator: "\n")
        let piped = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", "-", "--output", "s3://bkt/o/",
                "--role-arn", Self.role,
            ], stdin: lines, environment: running.environment)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(!piped.stdout.isEmpty)

        let missing = try QuarryProcess.run(
            ["batch", "submit", "--quiet", "--model", Self.model, "--records", "-", "--role-arn", Self.role],
            stdin: lines, environment: running.environment)
        #expect(missing.status == 2)
        let invalid = try QuarryProcess.run(
            [
                "batch", "submit", "--quiet", "--model", Self.model, "--records", try running.records(100),
                "--output", "bkt/o/", "--role-arn", Self.role,
            ], environment: running.environment)
        #expect(invalid.status == 2, "\(invalid.stderr)")
        #expect(invalid.stderr.contains("--output"), "\(invalid.stderr)")
    }
}
