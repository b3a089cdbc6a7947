import BedrockWire
import EmulatorTestSupport
import Foundation
import Testing

@testable import BedrockEmulator

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The emulator's S3 and the Bedrock control plane's batch inference jobs, over real
/// sockets, signed as the SDKs sign (S3: scope `s3`, the path as sent,
/// `x-amz-content-sha256`).
@Suite struct BatchInferenceTests {
    static let role = "arn:aws:iam::123456789012:role/BatchRole"

    /// A configuration with a fast lifecycle and a small minimum record count.
    static func fast(step: Duration = .milliseconds(20), minimum: Int = 3) -> (inout EmulatorConfiguration) -> Void {
        { configuration in
            configuration.batchStepDuration = step
            configuration.batchMinimumRecords = minimum
        }
    }

    static func anthropicRecord(_ id: String, _ text: String) -> JSONValue {
        [
            "recordId": .string(id),
            "modelInput": [
                "anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                "messages": [["role": "user", "content": [["type": "text", "text": .string(text)]]]],
            ],
        ]
    }

    static func jsonl(_ records: [JSONValue]) -> [UInt8] {
        Array(records.map { $0.text + "\n" }.joined().utf8)
    }

    static func createBody(
        name: String, input: String = "s3://batch-in/jobs/input.jsonl", output: String = "s3://batch-out/results/",
        extra: [String: JSONValue] = [:]
    ) -> JSONValue {
        var body: [String: JSONValue] = [
            "jobName": .string(name), "roleArn": .string(role), "modelId": .string(claude),
            "inputDataConfig": ["s3InputDataConfig": ["s3Uri": .string(input), "s3InputFormat": "JSONL"]],
            "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": .string(output)]],
        ]
        for (key, value) in extra { body[key] = value }
        return JSONValue(body)
    }

    /// Polls GetModelInvocationJob until the job ends; returns every status seen, in order.
    static func waitForEnd(_ client: EmulatorHTTPClient, _ arn: String) async throws -> (
        statuses: [String], job: JSONValue
    ) {
        var statuses: [String] = []
        for _ in 0..<2000 {
            let reply = try await client.send("/model-invocation-job/\(encode(arn))", method: "GET")
            let job = try #require(reply.json)
            let status = try #require(job["status"]?.stringValue)
            if statuses.last != status { statuses.append(status) }
            if ["Completed", "PartiallyCompleted", "Failed", "Stopped"].contains(status) { return (statuses, job) }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the job never ended: \(statuses)")
        return (statuses, .null)
    }

    static func encode(_ text: String) -> String {
        SigV4Canonicalization.percentEncode(text, keeping: [])
    }

    // MARK: S3

    @Test("S3: create a bucket, put, get and list objects, signed the S3 way")
    func objectRoundTrip() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/batch-in", method: "PUT").status == 200)
            let again = try await client.s3("/batch-in", method: "PUT")
            #expect(again.status == 409)
            #expect(again.text.contains("<Code>BucketAlreadyOwnedByYou</Code>"))
            // A key whose raw path differs from its normalised, re-encoded form: S3 signs
            // the path as sent, so this fails unless the verifier does too.
            let key = "jobs/a b+c=1.jsonl"
            let bytes = Array("{\"x\":1}\n".utf8)
            let put = try await client.s3(
                "/batch-in/" + SigV4Canonicalization.percentEncode(key, keeping: Set("/".utf8)),
                method: "PUT", body: bytes)
            #expect(put.status == 200, "\(put.text)")
            #expect(put.headers["etag"]?.hasPrefix("\"") == true)
            for index in 0..<3 {
                #expect(
                    try await client.s3(
                        "/batch-in/jobs/part-\(index).jsonl", method: "PUT", body: Array("\(index)".utf8)
                    ).status == 200)
            }
            #expect(try await client.s3("/batch-in/other/x", method: "PUT", body: [1, 2, 3]).status == 200)

            let got = try await client.s3(
                "/batch-in/" + SigV4Canonicalization.percentEncode(key, keeping: Set("/".utf8)), method: "GET")
            #expect(got.status == 200)
            #expect(Array(got.body) == bytes)
            #expect(got.headers["etag"] == put.headers["etag"])

            let listed = try await client.s3("/batch-in?list-type=2&prefix=jobs%2F", method: "GET")
            #expect(listed.status == 200)
            #expect(listed.text.contains("<KeyCount>4</KeyCount>"))
            #expect(listed.text.contains("<Key>jobs/a b+c=1.jsonl</Key>"))
            #expect(!listed.text.contains("other/x"))

            let first = try await client.s3("/batch-in?list-type=2&max-keys=2&prefix=jobs%2F", method: "GET")
            #expect(first.text.contains("<IsTruncated>true</IsTruncated>"))
            let token = try #require(first.text.between("<NextContinuationToken>", "</NextContinuationToken>"))
            let second = try await client.s3(
                "/batch-in?continuation-token=\(Self.encode(token))&list-type=2&max-keys=2&prefix=jobs%2F",
                method: "GET")
            #expect(second.text.contains("<KeyCount>2</KeyCount>"))
            #expect(second.text.contains("<IsTruncated>false</IsTruncated>"))
            #expect(second.text.contains("<Key>jobs/part-2.jsonl</Key>"))

            let missing = try await client.s3("/batch-in/nope", method: "GET")
            #expect(missing.status == 404)
            #expect(missing.text.contains("<Code>NoSuchKey</Code>"))
            let noBucket = try await client.s3("/no-such-bucket/x", method: "PUT", body: [1])
            #expect(noBucket.status == 404)
            #expect(noBucket.text.contains("<Code>NoSuchBucket</Code>"))
            #expect(emulator.requests.contains { $0.operation == "ListObjectsV2" && $0.status == 200 })
        }
    }

    @Test("S3: a wrong secret, a missing content hash or a body that does not match its hash is refused")
    func objectSignatureChecked() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/batch-in", method: "PUT").status == 200)
            var forger = client
            forger.secret = "not-the-secret"
            let forged = try await forger.s3("/batch-in/k", method: "PUT", body: [1, 2])
            #expect(forged.status == 403)
            #expect(forged.text.contains("<Code>SignatureDoesNotMatch</Code>"))

            let noHash = try await client.s3("/batch-in/k", method: "PUT", body: [1, 2], contentHash: nil)
            #expect(noHash.status == 400)
            #expect(noHash.text.contains("x-amz-content-sha256"))

            let tampered = try await client.s3(
                "/batch-in/k", method: "PUT", body: [1, 2],
                contentHash: SigV4ReceivedRequest.sha256Hex(ofBody: [9, 9]))
            #expect(tampered.status == 400)
            #expect(tampered.text.contains("<Code>XAmzContentSHA256Mismatch</Code>"))
            #expect(emulator.objectCount(bucket: "batch-in") == 0)

            // A Bedrock-scoped signature does not reach S3 (it is routed as a Bedrock call).
            let wrongService = try await client.send("/batch-in/k", method: "PUT")
            #expect(wrongService.status == 404)
            #expect(emulator.objectCount(bucket: "batch-in") == 0)
        }
    }

    // MARK: Batch jobs

    @Test("a batch job moves through its lifecycle, runs every record and writes .jsonl.out and manifest.json.out")
    func jobCompletes() async throws {
        try await withEmulator(Self.fast()) { _, client in
            try await client.prepareBuckets()
            let records = (1...5).map { Self.anthropicRecord("rec-\($0)", "Summarise document \($0)") }
            #expect(
                try await client.s3("/batch-in/jobs/input.jsonl", method: "PUT", body: Self.jsonl(records)).status
                    == 200)

            let created = try await client.send("/model-invocation-job", json: Self.createBody(name: "nightly-1"))
            #expect(created.status == 200, "\(created.json?.text ?? "")")
            let arn = try #require(created.json?["jobArn"]?.stringValue)
            #expect(arn.hasPrefix("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/"))
            let id = String(try #require(arn.split(separator: "/").last))

            let (statuses, job) = try await Self.waitForEnd(client, arn)
            let order = ["Submitted", "Validating", "Scheduled", "InProgress", "Completed"]
            #expect(statuses.last == "Completed")
            #expect(
                statuses.map { order.firstIndex(of: $0) ?? -1 }
                    == statuses.map { order.firstIndex(of: $0) ?? -1 }.sorted())
            #expect(job["totalRecordCount"]?.intValue == 5)
            #expect(job["successRecordCount"]?.intValue == 5)
            #expect(job["errorRecordCount"]?.intValue == 0)
            #expect(job["endTime"]?.stringValue != nil)
            #expect(job["jobName"]?.stringValue == "nightly-1")

            // The bare id works as the identifier too.
            #expect(
                try await client.send("/model-invocation-job/\(id)", method: "GET").json?["jobArn"]?.stringValue == arn)

            let output = try await client.s3("/batch-out/results/\(id)/input.jsonl.out", method: "GET")
            #expect(output.status == 200)
            let lines = output.text.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
            #expect(lines.map { $0["recordId"]?.stringValue } == (1...5).map { "rec-\($0)" })
            #expect(
                lines.allSatisfy { $0["modelOutput"]?["content"]?.arrayValue?.isEmpty == false && $0["error"] == nil })
            #expect(lines.first?["modelInput"] == records.first?["modelInput"])

            let manifest = try #require(
                try await client.s3("/batch-out/results/\(id)/manifest.json.out", method: "GET").json)
            #expect(manifest["totalRecordCount"]?.intValue == 5)
            #expect(manifest["processedRecordCount"]?.intValue == 5)
            #expect(manifest["successRecordCount"]?.intValue == 5)
            #expect(manifest["errorRecordCount"]?.intValue == 0)
            #expect((manifest["inputTokenCount"]?.intValue ?? 0) > 0)
            #expect((manifest["outputTokenCount"]?.intValue ?? 0) > 0)
        }
    }

    @Test("Converse records, a prefix of several files, and records that error give PartiallyCompleted")
    func jobPartiallyCompletes() async throws {
        try await withEmulator(Self.fast()) { emulator, client in
            try await client.prepareBuckets()
            try emulator.addResponse(
                ScriptedReply(contains: "poison", error: "ValidationException", message: "bad record"))
            func converse(_ id: String, _ text: String) -> JSONValue {
                [
                    "recordId": .string(id),
                    "modelInput": ["messages": [["role": "user", "content": [["text": .string(text)]]]]],
                ]
            }
            _ = try await client.s3(
                "/batch-in/set/a.jsonl", method: "PUT",
                body: Self.jsonl([converse("a1", "hello"), converse("a2", "poison pill")]))
            _ = try await client.s3("/batch-in/set/b.jsonl", method: "PUT", body: Self.jsonl([converse("b1", "again")]))
            _ = try await client.s3("/batch-in/set/notes.txt", method: "PUT", body: Array("not input".utf8))
            let created = try await client.send(
                "/model-invocation-job",
                json: Self.createBody(
                    name: "mixed", input: "s3://batch-in/set/", output: "s3://batch-out/out",
                    extra: ["modelInvocationType": "Converse"]))
            let arn = try #require(created.json?["jobArn"]?.stringValue)
            let id = String(try #require(arn.split(separator: "/").last))
            let (_, job) = try await Self.waitForEnd(client, arn)
            #expect(job["status"]?.stringValue == "PartiallyCompleted")
            #expect(job["modelInvocationType"]?.stringValue == "Converse")
            #expect(job["successRecordCount"]?.intValue == 2)
            #expect(job["errorRecordCount"]?.intValue == 1)
            let a = try await client.s3("/batch-out/out/\(id)/a.jsonl.out", method: "GET").text
            let lines = a.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
            #expect(lines.count == 2)
            #expect(lines[0]["modelOutput"]?["output"]?["message"] != nil)
            #expect(lines[1]["error"]?["errorCode"]?.intValue == 400)
            #expect(lines[1]["error"]?["errorMessage"]?.stringValue == "bad record")
            #expect(try await client.s3("/batch-out/out/\(id)/b.jsonl.out", method: "GET").status == 200)
            #expect(try await client.s3("/batch-out/out/\(id)/notes.txt.out", method: "GET").status == 404)
        }
    }

    @Test("a job below the minimum record count fails validation and says so")
    func jobBelowMinimum() async throws {
        try await withEmulator(Self.fast(minimum: 3)) { _, client in
            try await client.prepareBuckets()
            _ = try await client.s3(
                "/batch-in/jobs/input.jsonl", method: "PUT",
                body: Self.jsonl([Self.anthropicRecord("1", "a"), Self.anthropicRecord("2", "b")]))
            let arn = try #require(
                try await client.send("/model-invocation-job", json: Self.createBody(name: "small")).json?["jobArn"]?
                    .stringValue)
            let (statuses, job) = try await Self.waitForEnd(client, arn)
            #expect(statuses.last == "Failed")
            #expect(!statuses.contains("InProgress"))
            #expect(job["message"]?.stringValue?.contains("at least 3") == true)
            #expect(job["totalRecordCount"]?.intValue == 2)
        }
    }

    @Test("the documented minimum of 100 records is the default")
    func defaultMinimum() {
        #expect(EmulatorConfiguration().batchMinimumRecords == 100)
    }

    @Test("a malformed line or a missing input fails the job at validation, naming the problem")
    func jobBadInput() async throws {
        try await withEmulator(Self.fast(minimum: 1)) { _, client in
            try await client.prepareBuckets()
            _ = try await client.s3(
                "/batch-in/jobs/input.jsonl", method: "PUT", body: Array("{\"recordId\":\"1\"}\n".utf8))
            let bad = try #require(
                try await client.send("/model-invocation-job", json: Self.createBody(name: "bad")).json?["jobArn"]?
                    .stringValue)
            let (_, badJob) = try await Self.waitForEnd(client, bad)
            #expect(badJob["status"]?.stringValue == "Failed")
            #expect(badJob["message"]?.stringValue?.contains("Line 1 of s3://batch-in/jobs/input.jsonl") == true)
            let none = try #require(
                try await client.send(
                    "/model-invocation-job",
                    json: Self.createBody(
                        name: "none", input: "s3://batch-in/empty/")
                ).json?["jobArn"]?.stringValue)
            let (_, noneJob) = try await Self.waitForEnd(client, none)
            #expect(noneJob["message"]?.stringValue?.contains("No .jsonl input found") == true)
        }
    }

    @Test("StopModelInvocationJob stops a running job; a stopped job cannot be stopped again")
    func jobStops() async throws {
        try await withEmulator(Self.fast(step: .milliseconds(300), minimum: 1)) { _, client in
            try await client.prepareBuckets()
            _ = try await client.s3(
                "/batch-in/jobs/input.jsonl", method: "PUT", body: Self.jsonl([Self.anthropicRecord("1", "a")]))
            let arn = try #require(
                try await client.send("/model-invocation-job", json: Self.createBody(name: "stopme")).json?["jobArn"]?
                    .stringValue)
            let stop = try await client.send("/model-invocation-job/\(Self.encode(arn))/stop")
            #expect(stop.status == 200)
            // Stopping lasts one step; a loaded machine may read the job after it.
            let status = try await client.send("/model-invocation-job/\(Self.encode(arn))", method: "GET").json?[
                "status"]?
                .stringValue
            #expect(status == "Stopping" || status == "Stopped", "\(status ?? "nil")")
            let (statuses, _) = try await Self.waitForEnd(client, arn)
            #expect(statuses.last == "Stopped")
            let again = try await client.send("/model-invocation-job/\(Self.encode(arn))/stop")
            #expect(again.errorType == "ValidationException")
            let unknown = try await client.send("/model-invocation-job/abcdefabcdef/stop")
            #expect(unknown.status == 404)
            #expect(unknown.errorType == "ResourceNotFoundException")
            let malformed = try await client.send("/model-invocation-job/NOT-AN-ID", method: "GET")
            #expect(malformed.errorType == "ValidationException")
        }
    }

    @Test("CreateModelInvocationJob checks its fields, honours client tokens and the active-job quota")
    func createValidation() async throws {
        try await withEmulator({ configuration in
            Self.fast(step: .seconds(30))(&configuration)
            configuration.maxActiveBatchJobs = 1
        }) { _, client in
            let badName = try await client.send("/model-invocation-job", json: Self.createBody(name: "bad name!"))
            #expect(badName.errorType == "ValidationException")
            #expect(badName.json?["message"]?.stringValue?.contains("jobName") == true)
            var badRole = Self.createBody(name: "ok")
            badRole["roleArn"] = "arn:aws:iam::role"
            #expect(
                try await client.send("/model-invocation-job", json: badRole).json?["message"]?.stringValue?.contains(
                    "roleArn") == true)
            let badTimeout = try await client.send(
                "/model-invocation-job", json: Self.createBody(name: "ok", extra: ["timeoutDurationInHours": 12]))
            #expect(badTimeout.json?["message"]?.stringValue?.contains("between 24 and 168") == true)
            let badURI = try await client.send(
                "/model-invocation-job", json: Self.createBody(name: "ok", input: "https://x/y"))
            #expect(badURI.json?["message"]?.stringValue?.contains("s3Uri") == true)
            var badModel = Self.createBody(name: "ok")
            badModel["modelId"] = "no.such-model-v9"
            #expect(try await client.send("/model-invocation-job", json: badModel).errorType == "ValidationException")

            let withToken = Self.createBody(
                name: "first", extra: ["clientRequestToken": "token-1", "timeoutDurationInHours": 48])
            let first = try await client.send("/model-invocation-job", json: withToken)
            let arn = try #require(first.json?["jobArn"]?.stringValue)
            #expect(try await client.send("/model-invocation-job", json: withToken).json?["jobArn"]?.stringValue == arn)
            let reused = try await client.send(
                "/model-invocation-job", json: Self.createBody(name: "other", extra: ["clientRequestToken": "token-1"]))
            #expect(reused.errorType == "ConflictException")
            let quota = try await client.send("/model-invocation-job", json: Self.createBody(name: "second"))
            #expect(quota.errorType == "ServiceQuotaExceededException")
            let job = try #require(
                try await client.send("/model-invocation-job/\(Self.encode(arn))", method: "GET").json)
            #expect(job["timeoutDurationInHours"]?.intValue == 48)
            #expect(job["clientRequestToken"]?.stringValue == "token-1")
        }
    }

    @Test("fault rules hit the control plane: CreateModelInvocationJob throttled once, then served")
    func faultRules() async throws {
        try await withEmulator(Self.fast(step: .seconds(30))) { emulator, client in
            try emulator.addFault(
                FaultRule(operation: "CreateModelInvocationJob", times: 1, error: "ThrottlingException"))
            let throttled = try await client.send("/model-invocation-job", json: Self.createBody(name: "faulted"))
            #expect(throttled.status == 429)
            #expect(throttled.errorType == "ThrottlingException")
            let served = try await client.send("/model-invocation-job", json: Self.createBody(name: "faulted"))
            #expect(served.status == 200)
            #expect(emulator.requests.contains { $0.operation == "CreateModelInvocationJob" && $0.fault == "error" })
            try emulator.addFault(
                FaultRule(operation: "ListModelInvocationJobs", times: 1, error: "AccessDeniedException"))
            #expect(try await client.send("/model-invocation-jobs", method: "GET").errorType == "AccessDeniedException")
            // Stream faults only apply to streaming operations.
            #expect(throws: FaultRuleError.self) {
                try emulator.addFault(FaultRule(operation: "GetModelInvocationJob", stream: "truncate"))
            }
        }
    }

    @Test("ListModelInvocationJobs filters by status and name, sorts and pages")
    func listJobs() async throws {
        try await withEmulator({ configuration in
            Self.fast(step: .milliseconds(10), minimum: 1)(&configuration)
        }) { _, client in
            try await client.prepareBuckets()
            _ = try await client.s3(
                "/batch-in/jobs/input.jsonl", method: "PUT", body: Self.jsonl([Self.anthropicRecord("1", "a")]))
            var arns: [String] = []
            for name in ["alpha-1", "alpha-2", "beta-1"] {
                let arn = try #require(
                    try await client.send("/model-invocation-job", json: Self.createBody(name: name)).json?["jobArn"]?
                        .stringValue)
                _ = try await Self.waitForEnd(client, arn)
                arns.append(arn)
            }
            let all = try #require(
                try await client.send("/model-invocation-jobs", method: "GET").json?["invocationJobSummaries"]?
                    .arrayValue)
            #expect(all.map { $0["jobArn"]?.stringValue } == arns.reversed())
            let ascending = try await client.send(
                "/model-invocation-jobs?sortOrder=Ascending&nameContains=alpha", method: "GET")
            #expect(
                ascending.json?["invocationJobSummaries"]?.arrayValue?.map { $0["jobName"]?.stringValue } == [
                    "alpha-1", "alpha-2",
                ])
            let completed = try await client.send("/model-invocation-jobs?statusEquals=Completed", method: "GET")
            #expect(completed.json?["invocationJobSummaries"]?.arrayValue?.count == 3)
            #expect(
                try await client.send("/model-invocation-jobs?statusEquals=Failed", method: "GET")
                    .json?["invocationJobSummaries"]?.arrayValue?.isEmpty == true)
            let page = try await client.send("/model-invocation-jobs?maxResults=2", method: "GET")
            #expect(page.json?["invocationJobSummaries"]?.arrayValue?.count == 2)
            let next = try #require(page.json?["nextToken"]?.stringValue)
            let rest = try await client.send("/model-invocation-jobs?maxResults=2&nextToken=\(next)", method: "GET")
            #expect(rest.json?["invocationJobSummaries"]?.arrayValue?.count == 1)
            #expect(rest.json?["nextToken"] == nil)
            #expect(
                try await client.send("/model-invocation-jobs?statusEquals=Bogus", method: "GET").errorType
                    == "ValidationException")
        }
    }
}

extension EmulatorHTTPClient {
    /// An S3 request signed as botocore's `S3SigV4Auth` signs it: scope `s3`, the path
    /// as sent, `x-amz-content-sha256` (the body's hash unless `contentHash` says otherwise;
    /// nil leaves the header out).
    func s3(
        _ target: String, method: String, body: [UInt8] = [],
        contentHash: String?? = .some(nil), headers extra: [String: String] = [:]
    ) async throws -> Reply {
        let url = endpoint.url + target
        var headers: [(name: String, value: String)] = extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        switch contentHash {
        case .none: break
        case .some(.none): headers.append(("x-amz-content-sha256", SigV4ReceivedRequest.sha256Hex(ofBody: body)))
        case .some(.some(let declared)): headers.append(("x-amz-content-sha256", declared))
        }
        let signer = SigV4Signer(region: region, service: "s3", pathCanonicalization: .asSent)
        let request = SigV4Request(method: method, url: url, headers: headers, payload: .body(body))
        let signed = try signer.sign(
            request, with: SigV4Credentials(accessKeyId: accessKeyID, secretAccessKey: secret), at: Date())
        guard let target = URL(string: url) else { throw URLError(.badURL) }
        var urlRequest = URLRequest(url: target)
        urlRequest.httpMethod = method
        for (name, value) in signed.headers where name.lowercased() != "host" {
            urlRequest.addValue(value, forHTTPHeaderField: name)
        }
        if method != "GET" { urlRequest.httpBody = Data(body) }
        let (data, response) = try await URLSession.shared.data(for: urlRequest)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var replyHeaders: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { replyHeaders[name.lowercased()] = value }
        }
        return Reply(status: http.statusCode, headers: replyHeaders, body: data)
    }

    /// Creates the input and output buckets the batch tests use.
    func prepareBuckets() async throws {
        #expect(try await s3("/batch-in", method: "PUT").status == 200)
        #expect(try await s3("/batch-out", method: "PUT").status == 200)
    }
}

extension EmulatorHTTPClient.Reply {
    var text: String { String(decoding: body, as: UTF8.self) }
}

extension String {
    /// The text between the first `start` and the following `end`.
    func between(_ start: String, _ end: String) -> String? {
        guard let lower = range(of: start), let upper = self[lower.upperBound...].range(of: end) else { return nil }
        return String(self[lower.upperBound..<upper.lowerBound])
    }
}

extension BedrockEmulator {
    /// Objects in a bucket of the emulator's S3 (0 when it does not exist).
    func objectCount(bucket: String) -> Int { service.objects.list(bucket: bucket, prefix: "")?.count ?? 0 }
}
