import Foundation
import Quarry
import Testing

/// `--allow-bucket` and `--allow-role` through the real `quarry` binary.
@Suite struct BatchCLITests {
    static let role = "arn:aws:iam::123456789012:role/BatchRole"

    @Test func badBucketAndRoleRulesAreUsageErrors() throws {
        let bucket = try QuarryProcess.run(
            ["--quiet", "--allow-bucket", "Not_A_Bucket/x", "-e", "return 1"], environment: HostCLITests.noAWS)
        #expect(bucket.status == 2)
        #expect(bucket.stderr.contains("--allow-bucket"), "\(bucket.stderr)")
        let dots = try QuarryProcess.run(
            ["--quiet", "--allow-bucket", "batch-out/a/../b", "-e", "return 1"], environment: HostCLITests.noAWS)
        #expect(dots.status == 2)
        #expect(dots.stderr.contains("--allow-bucket"), "\(dots.stderr)")
        let role = try QuarryProcess.run(
            ["--quiet", "--allow-role", "BatchRole", "-e", "return 1"], environment: HostCLITests.noAWS)
        #expect(role.status == 2)
        #expect(role.stderr.contains("--allow-role"), "\(role.stderr)")
    }

    @Test func givenFlagsApplyOnTheEmulatorToo() throws {
        let script = """
            local records = {} for i = 1, 100 do records[i] = {messages = 'x'} end
            local ok, e = pcall(bedrock.batch, {model = 'amazon.nova-micro-v1:0', records = records,
                                output = 's3://batch-out/other/', role_arn = '\(Self.role)'})
            print(e.code .. ': ' .. e.message)
            """
        let r = try QuarryProcess.run(
            ["--quiet", "--allow-bucket", "batch-out/results", "--allow-role", Self.role, "-e", script],
            environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("PolicyViolation: bucket 'batch-out'"), "\(r.stdout)")
        #expect(r.stdout.contains("batch-out/results"), "\(r.stdout)")
    }
}

/// `quarry batch submit|status|results|stop` against a `quarry emulator` that outlives
/// each command, reached as AWS would be (`--target aws`, `AWS_ENDPOINT_URL_BEDROCK`,
/// `AWS_ENDPOINT_URL_S3`), so the bucket and role flags are required.
@Suite struct BatchCommandTests {
    static let role = BatchCLITests.role

    @Test func submitStatusResultsAndStop() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("emulator.json")
        try Data(#"{"batch_step_seconds": 0.01}"#.utf8).write(to: config)
        let emulator = try EmulatorCommandTests.RunningEmulator(["--port", "0", "--config", config.path])
        defer { if emulator.process.isRunning { emulator.process.terminate() } }
        _ = try await emulator.waitFor("Press Ctrl-C")
        let endpoint = try #require(emulator.value(after: "endpoint:"))
        var environment = HostCLITests.testKeysAsAWS()
        for name in ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_S3"] {
            environment[name] = endpoint
        }
        // The buckets exist beforehand, as on AWS.
        let shared = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint(validating: endpoint),
            authorizer: SigV4Authorizer(
                region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")))
        let s3Endpoint = try BedrockEndpoint(validating: endpoint)
        let direct = try BedrockBatchClient(
            configuration: .init(shared: shared, controlEndpoint: s3Endpoint, s3Endpoint: s3Endpoint))
        _ = try await direct.createBucket("batch-out")
        try await direct.shutdown()

        let records = dir.appendingPathComponent("records.jsonl")
        let lines = (1...100).map { #"{"messages": "line \#($0)", "inference": {"max_tokens": 16}}"# }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: records)
        let common = ["--quiet", "--target", "aws", "--allow-bucket", "batch-out/jobs", "--allow-role", Self.role]
        let submit = try QuarryProcess.run(
            ["batch", "submit"] + common + [
                "--model", "anthropic.claude-3-haiku-20240307-v1:0", "--records", records.path,
                "--output", "s3://batch-out/jobs/", "--role-arn", Self.role, "--name", "cli-1", "--wait", "--poll",
                "0.05",
            ], environment: environment)
        #expect(submit.status == 0, "\(submit.stderr)")
        let id = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!id.isEmpty && id.allSatisfy { $0.isLetter || $0.isNumber }, "\(submit.stdout)")
        #expect(submit.stderr.contains("batch \(id): Completed"), "\(submit.stderr)")

        let status = try QuarryProcess.run(["batch", "status"] + common + [id], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains(#""status":"Completed""#), "\(status.stdout)")

        let results = try QuarryProcess.run(
            ["batch", "results"] + common + [id, "--output", "s3://batch-out/jobs/"], environment: environment)
        #expect(results.status == 0, "\(results.stderr)")
        let entries = results.stdout.split(separator: "\n")
        #expect(entries.count == 100)
        #expect(entries.first?.contains(#""record_id":"R00000001""#) == true, "\(entries.first ?? "")")
        #expect(entries.last?.contains(#""record_id":"R00000100""#) == true)

        // Results from a folder the policy does not allow are refused before anything is read.
        let elsewhere = try QuarryProcess.run(
            ["batch", "results"] + common + [id, "--output", "s3://batch-out/other/"], environment: environment)
        #expect(elsewhere.status == 1)
        #expect(elsewhere.stderr.contains("PolicyViolation"), "\(elsewhere.stderr)")

        // A finished job cannot be stopped: the service's error, exit 1.
        let stop = try QuarryProcess.run(["batch", "stop"] + common + [id], environment: environment)
        #expect(stop.status == 1)
        #expect(stop.stderr.contains("ValidationException"), "\(stop.stderr)")
    }
}
