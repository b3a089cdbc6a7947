import BedrockRuntime
import BedrockWire
import Foundation
import Testing

@testable import BedrockBatch

/// The batch client signs each operation exactly as botocore does: for every
/// botocore-signed batch vector (`Tests/BedrockWireTests/Signing/Vectors/batch-requests.json`,
/// boto3's `s3` and `bedrock` clients), the client's own request for the same input,
/// at the same time with the same keys, carries the same signature.
@Suite struct BatchClientSigningTests {
    struct File: Decodable {
        struct Case: Decodable {
            struct Credentials: Decodable { var access_key_id: String; var secret_access_key: String }
            var id: String
            var url: String
            var headers: [[String]]
            var body_base64: String
            var timestamp: String
            var credentials: Credentials
            var signature: String
        }
        var cases: [Case]
    }

    static func load() throws -> [File.Case] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BedrockWireTests/Signing/Vectors/batch-requests.json").path
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    static let jobArn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghij12"

    /// The client's operation for each vector's input (as `gen_batch_requests.py` made it).
    static func operation(for vector: File.Case, body: [UInt8]) throws -> (OperationRequest, s3: Bool) {
        switch vector.id {
        case "s3-put-object":
            return (
                try BedrockBatchClient.putObjectOperation(
                    bucket: "batch-in", key: "jobs/input 1+2=3.jsonl", body: body, contentType: nil), true
            )
        case "s3-put-object-dot-segments":
            return (
                try BedrockBatchClient.putObjectOperation(
                    bucket: "batch-in", key: "a/./b//c.jsonl", body: body, contentType: nil), true
            )
        case "s3-get-object":
            return (
                try BedrockBatchClient.getObjectOperation(
                    bucket: "batch-out", key: "results/abcdefghij12/input.jsonl.out"), true
            )
        case "s3-list-objects-v2":
            return (
                try BedrockBatchClient.listObjectsOperation(
                    ListObjectsV2Request(bucket: "batch-out", prefix: "results/abcdefghij12/", maxKeys: 10)), true
            )
        case "bedrock-create-model-invocation-job":
            let request = CreateModelInvocationJobRequest(
                jobName: "nightly-1", roleArn: "arn:aws:iam::123456789012:role/BatchRole",
                modelId: "anthropic.claude-3-haiku-20240307-v1:0", clientRequestToken: "token-1",
                inputDataConfig: .init(s3InputDataConfig: .init(s3Uri: "s3://batch-in/jobs/")),
                outputDataConfig: .init(s3OutputDataConfig: .init(s3Uri: "s3://batch-out/results/")))
            return (try BedrockBatchClient.createOperation(request), false)
        case "bedrock-get-model-invocation-job":
            return (try BedrockBatchClient.getOperation(jobArn), false)
        case "bedrock-list-model-invocation-jobs":
            return (
                try BedrockBatchClient.listOperation(
                    ListModelInvocationJobsRequest(statusEquals: .completed, maxResults: 5)), false
            )
        case "bedrock-stop-model-invocation-job":
            return (try BedrockBatchClient.stopOperation(jobArn), false)
        default:
            throw BedrockError.invalidRequest("no client operation for vector \(vector.id)")
        }
    }

    @Test("every botocore-signed batch request: the client's request has the same URL, body and signature")
    func sameSignatures() async throws {
        // The multipart and virtual-hosted cases (the emulator's) wait for the client's
        // multipart upload and virtual-hosted addressing.
        let waiting: Set<String> = [
            "s3-create-multipart-upload", "s3-upload-part", "s3-complete-multipart-upload",
            "s3-abort-multipart-upload", "s3-list-parts", "s3-list-multipart-uploads",
            "s3-put-object-virtual-hosted", "s3-upload-part-virtual-hosted",
        ]
        let all = try Self.load()
        #expect(Set(all.map(\.id)).isSuperset(of: waiting))
        let cases = all.filter { !waiting.contains($0.id) }
        #expect(cases.count == 8)
        let first = try #require(cases.first)
        // One client for all: every vector was signed at the same time with the same keys.
        #expect(Set(cases.map(\.timestamp)).count == 1)
        #expect(Set(cases.map(\.credentials.access_key_id)).count == 1)
        let date = try #require(SigV4Timestamp(amzDate: first.timestamp)).date
        let credentials = SigV4Credentials(
            accessKeyId: first.credentials.access_key_id, secretAccessKey: first.credentials.secret_access_key)
        let endpoint = try BedrockEndpoint(validating: "http://127.0.0.1:4566")
        let shared = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: endpoint,
            authorizer: SigV4Authorizer(region: "us-east-1", credentials: credentials))
        let client = try BedrockBatchClient(
            configuration: .init(shared: shared, controlEndpoint: endpoint, s3Endpoint: endpoint), now: { date })
        var checked = 0
        for vector in cases {
            let body = Array(Data(base64Encoded: vector.body_base64) ?? Data([0xFF]))
            guard let (op, isS3) = try? Self.operation(for: vector, body: body) else {
                Issue.record("\(vector.id): the client cannot build this request")
                continue
            }
            #expect(op.body == body, "\(vector.id): body differs")
            let pipeline = isS3 ? client.s3 : client.control
            let request = try await pipeline.prepare(op, attempt: 1, maxAttempts: 3, invocationId: "x")
            #expect(request.url == vector.url, "\(vector.id)")
            let expected = vector.headers.first { $0.first == "Authorization" }?.last
            #expect(request.headers.first(name: "Authorization") == expected, "\(vector.id)")
            #expect(expected?.hasSuffix("Signature=\(vector.signature)") == true)
            checked += 1
        }
        try await client.shutdown()
        #expect(checked == 8)
    }
}
