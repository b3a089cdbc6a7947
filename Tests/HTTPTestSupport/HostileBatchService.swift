import Foundation

/// A loopback server playing Bedrock's batch control plane and S3 for one job
/// (`abc123`, output `s3://data/out/`) as a hostile service might: what it says about
/// the job, which keys it lists and what the objects hold are the test's to choose.
public struct HostileBatchService: Sendable {
    public static let jobId = "abc123"
    public static let role = "arn:aws:iam::123456789012:role/R"

    public var status = "Completed"
    public var message = "ok"
    public var roleArn = HostileBatchService.role
    public var output = "s3://data/out/"
    public var jobName = "real-name"
    /// The keys the listing names (URL-encoded on the wire as S3 does).
    public var keys = ["out/abc123/x.jsonl.out"]
    /// Every object's body.
    public var object: [UInt8] = Array("{\"recordId\":\"R00000001\",\"modelOutput\":{}}\n".utf8)

    public init() {}

    /// The job as GetModelInvocationJob describes it.
    public var jobJSON: String {
        let fields: [String: Any] = [
            "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/\(Self.jobId)",
            "status": status, "message": message, "jobName": jobName, "modelId": "m", "roleArn": roleArn,
            "submitTime": "2024-01-01T00:00:00Z", "totalRecordCount": 100, "processedRecordCount": 100,
            "inputDataConfig": ["s3InputDataConfig": ["s3Uri": "s3://data/in/x.jsonl"]],
            "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": output]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: fields)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Answers one request.
    public func answer(_ request: ReceivedRequest) -> ServerAction {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        if path.hasPrefix("/model-invocation-job/") {
            if request.method == "POST" { return .json(200, "{}") }
            return .json(200, jobJSON)
        }
        if request.uri.contains("list-type=2") {
            let items = keys.map { key in
                let encoded =
                    key.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/.-_")))
                    ?? key
                return "<Contents><Key>\(encoded)</Key><Size>1</Size></Contents>"
            }.joined()
            return .respond(
                status: 200, headers: [("Content-Type", "application/xml")],
                body: Array(
                    "<?xml version=\"1.0\"?><ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>\(items)</ListBucketResult>"
                        .utf8))
        }
        return .respond(status: 200, headers: [("Content-Type", "application/octet-stream")], body: object)
    }

    /// Starts a server answering as this service.
    public func start() async throws -> ScriptedHTTPServer {
        let service = self
        return try await ScriptedHTTPServer.start { request, _ in service.answer(request) }
    }

    /// The environment of an AWS target whose endpoints are `server`.
    public static func environment(_ server: ScriptedHTTPServer) -> [String: String] {
        [
            "QUARRY_TARGET": "aws", "AWS_ACCESS_KEY_ID": "AKIACANARYKEY1234567", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.endpoint, "AWS_ENDPOINT_URL_BEDROCK": server.endpoint,
            "AWS_ENDPOINT_URL_S3": server.endpoint, "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        ]
    }
}
