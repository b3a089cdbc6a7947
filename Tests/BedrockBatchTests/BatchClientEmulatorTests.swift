import BedrockEmulator
import BedrockRuntime
import BedrockWire
import EmulatorTestSupport
import Foundation
import Testing

@testable import BedrockBatch

/// The batch client against the real emulator over loopback: S3 objects and the
/// model invocation job lifecycle, signed by each service's rules.
@Suite struct BatchClientEmulatorTests {
    static let role = "arn:aws:iam::123456789012:role/BatchRole"
    static let claude = "anthropic.claude-3-haiku-20240307-v1:0"

    /// Runs `body` with a started emulator (fast lifecycle, minimum `minimum` records)
    /// and a batch client on it, signing with `secret`.
    static func withClient<T>(
        step: Duration = .milliseconds(20), minimum: Int = 3, secret: String = "test",
        _ body: (BedrockBatchClient) async throws -> T
    ) async throws -> T {
        let configuration = EmulatorConfiguration.oneThread {
            $0.batchStepDuration = step
            $0.batchMinimumRecords = minimum
        }
        return try await BedrockEmulator.withStarted(configuration) { _, endpoint in
            let client = try Self.client(endpoint.url, secret: secret)
            do {
                let result = try await body(client)
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    static func client(_ url: String, secret: String = "test") throws -> BedrockBatchClient {
        let endpoint = try BedrockEndpoint(validating: url)
        var retry = RetryConfiguration()
        retry.maxAttempts = 1
        let shared = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: endpoint,
            authorizer: SigV4Authorizer(
                region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: secret)),
            retry: retry)
        return try BedrockBatchClient(
            configuration: .init(shared: shared, controlEndpoint: endpoint, s3Endpoint: endpoint))
    }

    static func records(_ count: Int) -> Data {
        var text = ""
        for i in 1...count {
            let input: JSONValue = [
                "anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
                "messages": [["role": "user", "content": [["type": "text", "text": .string("record \(i)")]]]],
            ]
            let line: JSONValue = ["recordId": .string(String(format: "R%04d", i)), "modelInput": input]
            text += String(decoding: JSONWriter.compact.bytes(line), as: UTF8.self) + "\n"
        }
        return Data(text.utf8)
    }

    static func createRequest(_ name: String) -> CreateModelInvocationJobRequest {
        CreateModelInvocationJobRequest(
            jobName: name, roleArn: role, modelId: claude,
            inputDataConfig: .init(s3InputDataConfig: .init(s3Uri: "s3://batch-in/jobs/input.jsonl")),
            outputDataConfig: .init(s3OutputDataConfig: .init(s3Uri: "s3://batch-out/results/")))
    }

    static func waitForEnd(_ client: BedrockBatchClient, _ arn: String) async throws -> ModelInvocationJob {
        for _ in 0..<3000 {
            let job = try await client.getModelInvocationJob(jobIdentifier: arn).output
            if job.status?.isTerminal == true { return job }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BedrockError.invalidResponse("the job never ended")
    }

    @Test("S3: put, get and list (paged, keys with spaces, '+' and '/') round-trip through the emulator")
    func objects() async throws {
        try await Self.withClient { client in
            _ = try await client.createBucket("batch-in")
            let keys = ["jobs/a b+c=d.jsonl", "jobs/two.jsonl", "jobs/x/./y.jsonl", "other.txt", "jobs/ü.jsonl"]
            for (i, key) in keys.enumerated() {
                let put = try await client.putObject(
                    bucket: "batch-in", key: key, body: Data("body \(i)\n".utf8), contentType: "application/jsonl")
                #expect(put.output.eTag?.isEmpty == false)
            }
            for (i, key) in keys.enumerated() {
                let got = try await client.getObject(bucket: "batch-in", key: key).output
                #expect(got.body == Data("body \(i)\n".utf8), "\(key)")
            }
            let page = try await client.listObjectsV2(
                ListObjectsV2Request(bucket: "batch-in", prefix: "jobs/", maxKeys: 2)
            ).output
            #expect(page.contents.count == 2)
            #expect(page.isTruncated)
            let all = try await client.listAllObjects(bucket: "batch-in", prefix: "jobs/")
            #expect(
                all.map(\.key)
                    == keys.filter { $0.hasPrefix("jobs/") }.sorted {
                        Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
                    })
            #expect(all.first?.size == Int64("body 0\n".utf8.count))
        }
    }

    @Test("S3 errors are read from S3's XML: NoSuchKey, NoSuchBucket, a wrong secret")
    func s3Errors() async throws {
        try await Self.withClient { client in
            _ = try await client.createBucket("batch-in")
            let missing = await #expect(throws: BedrockError.self) {
                _ = try await client.getObject(bucket: "batch-in", key: "nope.jsonl")
            }
            #expect(missing?.code == "NoSuchKey")
            #expect(missing?.httpStatus == 404)
            #expect(missing?.message == "The specified key does not exist.")
            let noBucket = await #expect(throws: BedrockError.self) {
                _ = try await client.putObject(bucket: "no-such-bucket", key: "k", body: Data("x".utf8))
            }
            #expect(noBucket?.code == "NoSuchBucket")
        }
        let configuration = EmulatorConfiguration.oneThread()
        try await BedrockEmulator.withStarted(configuration) { _, endpoint in
            let client = try Self.client(endpoint.url, secret: "wrong")
            let e = await #expect(throws: BedrockError.self) {
                _ = try await client.listObjectsV2(ListObjectsV2Request(bucket: "batch-in"))
            }
            try await client.shutdown()
            #expect(e?.code == "SignatureDoesNotMatch")
            #expect(e?.httpStatus == 403)
        }
    }

    @Test("S3 input is checked before anything is sent: bucket names, empty and long keys")
    func s3InputChecks() throws {
        for bucket in [
            "", "ab", "Upper", "a/b", "..", "a..b", "192.168.0.1", "-abc", String(repeating: "a", count: 64),
        ] {
            #expect(throws: BedrockError.self, "\(bucket)") {
                _ = try BedrockBatchClient.putObjectOperation(bucket: bucket, key: "k", body: [], contentType: nil)
            }
        }
        #expect(throws: BedrockError.self) {
            _ = try BedrockBatchClient.getObjectOperation(bucket: "batch-in", key: "")
        }
        #expect(throws: BedrockError.self) {
            _ = try BedrockBatchClient.getObjectOperation(bucket: "batch-in", key: String(repeating: "k", count: 1025))
        }
        #expect(throws: BedrockError.self) { _ = try S3URI(uri: "https://batch-in/k") }
        let location = try S3URI(uri: "s3://batch-in/jobs/in.jsonl")
        #expect(location.bucket == "batch-in")
        #expect(location.key == "jobs/in.jsonl")
    }

    @Test("a job runs to Completed: create, get, list, and its output objects are listed and read in order")
    func jobLifecycle() async throws {
        try await Self.withClient { client in
            _ = try await client.createBucket("batch-in")
            _ = try await client.createBucket("batch-out")
            _ = try await client.putObject(bucket: "batch-in", key: "jobs/input.jsonl", body: Self.records(5))
            let created = try await client.createModelInvocationJob(Self.createRequest("lifecycle-1")).output
            #expect(created.jobArn.hasPrefix("arn:aws:bedrock:us-east-1:"))
            let job = try await Self.waitForEnd(client, created.jobArn)
            #expect(job.status == .completed)
            #expect(job.jobName == "lifecycle-1")
            #expect(job.processedRecordCount == 5)
            #expect(job.clientRequestToken?.isEmpty == false)
            let byId = try await client.getModelInvocationJob(jobIdentifier: job.jobId).output
            #expect(byId.jobArn == created.jobArn)
            let listed = try await client.listModelInvocationJobs(
                ListModelInvocationJobsRequest(statusEquals: .completed, maxResults: 5)
            ).output
            #expect(listed.invocationJobSummaries?.map(\.jobArn) == [created.jobArn])
            let outputs = try await client.listAllObjects(bucket: "batch-out", prefix: "results/\(job.jobId)/")
            #expect(
                Set(outputs.map(\.key)) == [
                    "results/\(job.jobId)/input.jsonl.out", "results/\(job.jobId)/manifest.json.out",
                ])
            let out = try await client.getObject(bucket: "batch-out", key: "results/\(job.jobId)/input.jsonl.out")
                .output
            let lines = String(decoding: out.body, as: UTF8.self).split(separator: "\n")
            let ids = try lines.map { try JSONParser.parse(Array($0.utf8))["recordId"]?.stringValue }
            #expect(ids == (1...5).map { String(format: "R%04d", $0) })
        }
    }

    @Test("a job is stopped; the control plane's errors are the service's (ValidationException, ResourceNotFound)")
    func stopAndErrors() async throws {
        try await Self.withClient(step: .milliseconds(300)) { client in
            _ = try await client.createBucket("batch-in")
            _ = try await client.createBucket("batch-out")
            _ = try await client.putObject(bucket: "batch-in", key: "jobs/input.jsonl", body: Self.records(5))
            let created = try await client.createModelInvocationJob(Self.createRequest("stop-1")).output
            _ = try await client.stopModelInvocationJob(jobIdentifier: created.jobArn)
            let job = try await Self.waitForEnd(client, created.jobArn)
            #expect(job.status == .stopped)
            let again = await #expect(throws: BedrockError.self) {
                _ = try await client.stopModelInvocationJob(jobIdentifier: created.jobArn)
            }
            #expect(again?.serviceCode == .validation)
            let missing = await #expect(throws: BedrockError.self) {
                _ = try await client.getModelInvocationJob(jobIdentifier: "zzzzzzzzzzzz")
            }
            #expect(missing?.serviceCode == .resourceNotFound)
            var bad = Self.createRequest("")
            bad.jobName = ""
            await #expect(throws: BedrockError.self) { _ = try await client.createModelInvocationJob(bad) }
        }
    }
}
