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
    /// The upload id the multipart vectors use (characters the query must encode).
    static let upload = "2~Xk.4Zq_9+/=a"

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
        case "s3-create-multipart-upload":
            return (
                try BedrockBatchClient.createMultipartUploadOperation(
                    bucket: "batch-in", key: "jobs/big input.jsonl", contentType: "application/jsonl",
                    checksumAlgorithm: "CRC32"), true
            )
        case "s3-upload-part", "s3-upload-part-virtual-hosted":
            return (
                try BedrockBatchClient.uploadPartOperation(
                    bucket: "batch-in", key: "jobs/big input.jsonl", uploadId: upload,
                    partNumber: vector.id == "s3-upload-part" ? 2 : 1, body: body), true
            )
        case "s3-complete-multipart-upload":
            let parts = [
                CompletedPart(partNumber: 1, eTag: "\"5d41402abc4b2a76b9719d911017c592\""),
                CompletedPart(partNumber: 2, eTag: "\"7d793037a0760186574b0282f2f435e7\""),
            ]
            return (
                try BedrockBatchClient.completeMultipartUploadOperation(
                    bucket: "batch-in", key: "jobs/big input.jsonl", uploadId: upload, parts: parts), true
            )
        case "s3-abort-multipart-upload":
            return (
                try BedrockBatchClient.abortMultipartUploadOperation(
                    bucket: "batch-in", key: "jobs/big input.jsonl", uploadId: upload), true
            )
        case "s3-list-parts":
            return (
                try BedrockBatchClient.listPartsOperation(
                    bucket: "batch-in", key: "jobs/big input.jsonl", uploadId: upload, maxParts: 100,
                    partNumberMarker: 1), true
            )
        case "s3-list-multipart-uploads":
            return (
                try BedrockBatchClient.listMultipartUploadsOperation(
                    ListMultipartUploadsRequest(
                        bucket: "batch-in", prefix: "jobs/", maxUploads: 50, keyMarker: "jobs/a b",
                        uploadIdMarker: upload)), true
            )
        case "s3-put-object-virtual-hosted":
            return (
                try BedrockBatchClient.putObjectOperation(
                    bucket: "batch-in", key: "jobs/input 1+2=3.jsonl", body: body, contentType: nil), true
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
        let cases = try Self.load()
        #expect(cases.count == 16)
        let first = try #require(cases.first)
        // One client per addressing style: every vector was signed at the same time with the same keys.
        #expect(Set(cases.map(\.timestamp)).count == 1)
        #expect(Set(cases.map(\.credentials.access_key_id)).count == 1)
        let date = try #require(SigV4Timestamp(amzDate: first.timestamp)).date
        let credentials = SigV4Credentials(
            accessKeyId: first.credentials.access_key_id, secretAccessKey: first.credentials.secret_access_key)
        func client(_ url: String, _ style: S3AddressingStyle) throws -> BedrockBatchClient {
            let endpoint = try BedrockEndpoint(validating: url)
            let shared = try BedrockRuntimeClient.Configuration(
                region: "us-east-1", endpoint: endpoint,
                authorizer: SigV4Authorizer(region: "us-east-1", credentials: credentials))
            var configuration = try BedrockBatchClient.Configuration(
                shared: shared, controlEndpoint: endpoint, s3Endpoint: endpoint)
            configuration.s3AddressingStyle = style
            return try BedrockBatchClient(configuration: configuration, now: { date })
        }
        // As gen_batch_requests.py made them: path-style at 127.0.0.1, virtual-hosted at localhost.
        let pathStyle = try client("http://127.0.0.1:4566", .path)
        let virtual = try client("http://localhost:4566", .virtual)
        var checked = 0
        for vector in cases {
            let body = Array(Data(base64Encoded: vector.body_base64) ?? Data([0xFF]))
            guard let (op, isS3) = try? Self.operation(for: vector, body: body) else {
                Issue.record("\(vector.id): the client cannot build this request")
                continue
            }
            #expect(op.body == body, "\(vector.id): body differs")
            let client = vector.id.hasSuffix("-virtual-hosted") ? virtual : pathStyle
            let pipeline = isS3 ? client.s3 : client.control
            let routed =
                isS3
                ? try client.router.route(
                    op,
                    bucket: vector.id.contains("get-object") || vector.id.contains("list-objects")
                        ? "batch-out" : "batch-in") : op
            let request = try await pipeline.prepare(routed, attempt: 1, maxAttempts: 3, invocationId: "x")
            #expect(request.url == vector.url, "\(vector.id)")
            let expected = vector.headers.first { $0.first == "Authorization" }?.last
            #expect(request.headers.first(name: "Authorization") == expected, "\(vector.id)")
            #expect(expected?.hasSuffix("Signature=\(vector.signature)") == true)
            checked += 1
        }
        try await pathStyle.shutdown()
        try await virtual.shutdown()
        #expect(checked == 16)
    }
}
