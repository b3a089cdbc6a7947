import BedrockEmulator
import BedrockRuntime
import BedrockWire
import EmulatorTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import BedrockBatch

/// Multipart uploads and virtual-hosted addressing, against the real emulator over
/// loopback (and, for answers the emulator never gives, a middleware in front of it).
@Suite struct BatchMultipartTests {
    static let mib = 1024 * 1024

    /// A body whose bytes differ along its length (a misplaced part would show).
    static func body(_ count: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        var x: UInt32 = 2_463_534_242
        for i in 0..<count {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        return Data(bytes)
    }

    /// Runs `body` with a started emulator and a client on it (one attempt per call,
    /// 5 MiB parts), as `adjust` changes them.
    static func withClient<T>(
        emulator: (inout EmulatorConfiguration) -> Void = { _ in },
        adjust: (inout BedrockBatchClient.Configuration, BedrockEndpoint) throws -> Void = { _, _ in },
        _ body: (BedrockBatchClient) async throws -> T
    ) async throws -> T {
        let configuration = EmulatorConfiguration.oneThread { emulator(&$0) }
        return try await BedrockEmulator.withStarted(configuration) { _, endpoint in
            let url = try BedrockEndpoint(validating: endpoint.url)
            var retry = RetryConfiguration()
            retry.maxAttempts = 1
            let shared = try BedrockRuntimeClient.Configuration(
                region: "us-east-1", endpoint: url,
                authorizer: SigV4Authorizer(
                    region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")),
                retry: retry)
            var settings = try BedrockBatchClient.Configuration(shared: shared, controlEndpoint: url, s3Endpoint: url)
            settings.transfer = try S3TransferConfiguration(partSize: 5 * mib)
            try adjust(&settings, url)
            let client = try BedrockBatchClient(configuration: settings)
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

    static func uploadsInProgress(_ client: BedrockBatchClient, _ bucket: String) async throws -> [String] {
        try await client.listMultipartUploads(ListMultipartUploadsRequest(bucket: bucket)).output.uploads.map(\.key)
    }

    @Test("a 12 MiB put goes up in three 5 MiB-or-less parts, reads back whole, ETag \"…-3\", no upload left")
    func multipartRoundTrip() async throws {
        try await Self.withClient { client in
            _ = try await client.createBucket("batch-in")
            let data = Self.body(12 * Self.mib)
            let put = try await client.putObject(
                bucket: "batch-in", key: "jobs/big input.jsonl", body: data, contentType: "application/jsonl")
            let eTag = try #require(put.output.eTag)
            #expect(eTag.hasSuffix("-3\""), "\(eTag)")
            #expect(put.attempts.count == 5)  // create, three parts, complete
            let got = try await client.getObject(bucket: "batch-in", key: "jobs/big input.jsonl").output
            #expect(got.body == data)
            #expect(got.contentType == "application/jsonl")
            #expect(try await Self.uploadsInProgress(client, "batch-in").isEmpty)
            // Below the threshold: one PutObject, a plain ETag.
            let small = try await client.putObject(bucket: "batch-in", key: "small", body: Self.body(Self.mib))
            #expect(small.attempts.count == 1)
            #expect(small.output.eTag?.contains("-") == false)
        }
    }

    @Test("the typed multipart calls: create, upload, list parts, list uploads, abort")
    func typedCalls() async throws {
        try await Self.withClient { client in
            _ = try await client.createBucket("batch-in")
            let created = try await client.createMultipartUpload(bucket: "batch-in", key: "jobs/a b.jsonl").output
            let part = try await client.uploadPart(
                bucket: "batch-in", key: "jobs/a b.jsonl", uploadId: created.uploadId, partNumber: 1,
                body: Data("hello".utf8)
            ).output
            #expect(part.eTag.hasPrefix("\""))
            let parts = try await client.listParts(
                bucket: "batch-in", key: "jobs/a b.jsonl", uploadId: created.uploadId
            )
            .output
            #expect(parts.parts.map(\.partNumber) == [1])
            #expect(parts.parts.first?.size == 5)
            #expect(try await Self.uploadsInProgress(client, "batch-in") == ["jobs/a b.jsonl"])
            _ = try await client.abortMultipartUpload(
                bucket: "batch-in", key: "jobs/a b.jsonl", uploadId: created.uploadId)
            #expect(try await Self.uploadsInProgress(client, "batch-in").isEmpty)
            let gone = await #expect(throws: BedrockError.self) {
                _ = try await client.listParts(bucket: "batch-in", key: "jobs/a b.jsonl", uploadId: created.uploadId)
            }
            #expect(gone?.code == "NoSuchUpload")
        }
    }

    @Test("a part the emulator refuses (its store is full) aborts the upload: none is left in progress")
    func failedPartAborts() async throws {
        try await Self.withClient(emulator: { $0.maxStoredObjectBytes = 8 * Self.mib }) { client in
            _ = try await client.createBucket("batch-in")
            let e = await #expect(throws: BedrockError.self) {
                _ = try await client.putObject(bucket: "batch-in", key: "big", body: Self.body(12 * Self.mib))
            }
            #expect(e?.code == "ServiceUnavailable")
            #expect(try await Self.uploadsInProgress(client, "batch-in").isEmpty)
            // The aborted parts' space is free again.
            _ = try await client.putObject(bucket: "batch-in", key: "fits", body: Self.body(6 * Self.mib))
        }
    }

    /// Answers CompleteMultipartUpload itself, with HTTP 200 and `body`, as S3 does
    /// when the completion fails after the status line went out.
    final class CompleteAnswers: TransportMiddleware {
        let body: String
        let seen = Mutex(0)
        init(body: String) { self.body = body }
        func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
            guard request.operation == "CompleteMultipartUpload" else { return try await next.send(request) }
            seen.withLock { $0 += 1 }
            return IncomingResponse(
                status: 200, headers: ["Content-Type": "application/xml", "x-amzn-RequestId": "req-1"],
                body: ResponseBody(bytes: ByteBuffer(string: body)))
        }
    }

    @Test(
        "CompleteMultipartUpload answering 200 with an <Error> body is that error (HTTP 500, retried), and the upload is aborted",
        arguments: [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>r</RequestId></Error>",
            "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>",
        ])
    func completeErrorIn200(answer: String) async throws {
        let middleware = CompleteAnswers(body: answer)
        try await Self.withClient(adjust: { settings, _ in
            settings.shared.middlewares = [middleware]
            settings.shared.retry.maxAttempts = 2
            settings.shared.retry.maxBackoff = .milliseconds(10)
        }) { client in
            _ = try await client.createBucket("batch-in")
            let e = await #expect(throws: BedrockError.self) {
                _ = try await client.putObject(bucket: "batch-in", key: "big", body: Self.body(9 * Self.mib))
            }
            #expect(e?.code == "InternalError")
            #expect(e?.httpStatus == 500)
            #expect(e?.message.contains("We encountered an internal error") == true)
            #expect(middleware.seen.withLock { $0 } == 2)  // retried like a 500
            #expect(try await Self.uploadsInProgress(client, "batch-in").isEmpty)
        }
    }

    @Test("which 2xx S3 bodies are errors: empty, or an <Error> root after a declaration, spaces or a BOM")
    func errorIn2xxBodies() {
        let error = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        for body in [
            error, "  \n" + error, "<?xml version=\"1.0\"?>\n" + error, "\u{FEFF}" + error,
            "<Error xmlns=\"x\"><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ] {
            let e = ServiceErrorFormat.s3ErrorIn2xx(status: 200, headers: [:], body: Array(body.utf8))
            #expect(e?.code == "SlowDown", "\(body.debugDescription)")
            #expect(e?.httpStatus == 500)
        }
        #expect(ServiceErrorFormat.s3ErrorIn2xx(status: 200, headers: [:], body: [])?.httpStatus == 500)
        for body in [
            "<CompleteMultipartUploadResult><ETag>\"e-2\"</ETag></CompleteMultipartUploadResult>",
            "<?xml version=\"1.0\"?><CompleteMultipartUploadResult><Key>Error</Key></CompleteMultipartUploadResult>",
            "<Errors/>", "<?xml never closed",
        ] {
            #expect(
                ServiceErrorFormat.s3ErrorIn2xx(status: 200, headers: [:], body: Array(body.utf8)) == nil, "\(body)")
        }
    }

    @Test("S3's XML is read in one pass: elements named alike, empty forms, and 200,000 blocks")
    func xmlBlocks() {
        let text =
            "<R><PartNumberMarker>0</PartNumberMarker><Part><PartNumber>1</PartNumber></Part><Part/>"
            + "<Parts>x</Parts><Part>b&amp;c</Part><Part>unclosed"
        let blocks = XMLElements.blocks(named: "Part", in: text)
        #expect(blocks == ["<PartNumber>1</PartNumber>", "", "b&amp;c"])
        #expect(XMLElements.text(of: "Part", in: "<Part/><Part>z</Part>") == "")
        #expect(XMLElements.text(of: "PartNumber", in: text) == "1")
        // Many blocks and no `<Upload/>`: each block used to rescan the rest for the empty form.
        let many = String(repeating: "<Upload><Key>k</Key></Upload>", count: 200_000)
        #expect(XMLElements.blocks(named: "Upload", in: many).count == 200_000)
    }

    @Test("an empty 200 answer to CompleteMultipartUpload, or one that is not a result, is an error too")
    func completeOddAnswers() async throws {
        for answer in [
            "", "  \n", "<Other/>", "<?xml version=\"1.0\"?>", "<CompleteMultipartUploadResult><Bucket>b",
        ] {
            let middleware = CompleteAnswers(body: answer)
            try await Self.withClient(adjust: { settings, _ in settings.shared.middlewares = [middleware] }) { client in
                _ = try await client.createBucket("batch-in")
                await #expect(throws: BedrockError.self, "\(answer.debugDescription)") {
                    _ = try await client.putObject(bucket: "batch-in", key: "big", body: Self.body(9 * Self.mib))
                }
                #expect(try await Self.uploadsInProgress(client, "batch-in").isEmpty)
            }
        }
    }

    /// Holds the second UploadPart until the test cancels the upload.
    final class StallSecondPart: TransportMiddleware {
        let started = AsyncStream<Void>.makeStream()
        let parts = Mutex(0)
        func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
            if request.operation == "UploadPart",
                parts.withLock({
                    $0 += 1; return $0
                }) == 2
            {
                started.continuation.yield()
                try await Task.sleep(for: .seconds(600))
            }
            return try await next.send(request)
        }
    }

    @Test("cancelling a multipart put part-way aborts the upload")
    func cancelledUploadAborts() async throws {
        let stall = StallSecondPart()
        try await Self.withClient(adjust: { settings, _ in settings.shared.middlewares = [stall] }) { client in
            _ = try await client.createBucket("batch-in")
            let data = Self.body(12 * Self.mib)
            let put = Task { try await client.putObject(bucket: "batch-in", key: "big", body: data) }
            for await _ in stall.started.stream { break }
            put.cancel()
            await #expect(throws: (any Error).self) { _ = try await put.value }
            #expect(try await Self.uploadsInProgress(client, "batch-in").isEmpty)
        }
    }

    /// Connects to 127.0.0.1 whatever host a request names, sending that host in
    /// `Host` (this machine does not resolve `*.localhost`).
    final class ConnectToLoopback: TransportMiddleware {
        let seenHosts = Mutex<[String]>([])
        func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
            var routed = request
            let host = request.endpoint.hostHeader
            seenHosts.withLock { $0.append(host) }
            routed.endpoint = try BedrockEndpoint(
                validating: "\(request.endpoint.scheme)://127.0.0.1:\(request.endpoint.port ?? 80)")
            routed.headers.replaceOrAdd(name: "Host", value: host)
            return try await next.send(routed)
        }
    }

    @Test(
        "virtual-hosted addressing at a localhost endpoint: put (single and multipart), get and list as bucket.localhost"
    )
    func virtualHostedRoundTrip() async throws {
        let connect = ConnectToLoopback()
        try await Self.withClient(adjust: { settings, url in
            let localhost = try BedrockEndpoint(validating: "http://localhost:\(url.port ?? 80)")
            settings.s3Endpoint = localhost
            settings.s3AddressingStyle = .virtual
            settings.shared.middlewares = [connect]
        }) { client in
            _ = try await client.createBucket("batch-in")
            let small = Data("{\"recordId\":\"1\"}\n".utf8)
            _ = try await client.putObject(bucket: "batch-in", key: "jobs/input 1+2=3.jsonl", body: small)
            let big = Self.body(11 * Self.mib)
            let put = try await client.putObject(bucket: "batch-in", key: "jobs/big.jsonl", body: big)
            #expect(put.output.eTag?.hasSuffix("-3\"") == true)
            #expect(try await client.getObject(bucket: "batch-in", key: "jobs/input 1+2=3.jsonl").output.body == small)
            #expect(try await client.getObject(bucket: "batch-in", key: "jobs/big.jsonl").output.body == big)
            let keys = try await client.listAllObjects(bucket: "batch-in", prefix: "jobs/").map(\.key)
            #expect(keys == ["jobs/big.jsonl", "jobs/input 1+2=3.jsonl"])
            let hosts = Set(connect.seenHosts.withLock { $0 })
            #expect(hosts.count == 1)
            #expect(hosts.first?.hasPrefix("batch-in.localhost:") == true)
        }
    }

    @Test("addressing styles choose as botocore 1.43 does (path, virtual, auto; AWS vs custom endpoints; dots)")
    func addressingRules() throws {
        // (endpoint or nil for AWS's, bucket, style, virtual-hosted?) — from boto3's own URLs.
        let table: [(String?, String, S3AddressingStyle, Bool)] = [
            (nil, "batch-in", .auto, true), (nil, "batch-in", .virtual, true), (nil, "batch-in", .path, false),
            (nil, "batch.in", .auto, false), (nil, "batch.in", .virtual, false), (nil, "batch.in", .path, false),
            ("http://localhost:4566", "batch-in", .auto, false), ("http://localhost:4566", "batch-in", .virtual, true),
            ("http://localhost:4566", "batch.in", .auto, false), ("http://localhost:4566", "batch.in", .virtual, true),
            ("https://localhost:4566", "batch-in", .virtual, true),
            ("https://localhost:4566", "batch.in", .virtual, false),
            ("http://127.0.0.1:4566", "batch-in", .virtual, false), ("http://127.0.0.1:4566", "batch-in", .auto, false),
            ("https://minio.example:9000", "batch-in", .auto, false),
            ("https://minio.example:9000", "batch-in", .virtual, true),
            ("https://minio.example:9000", "batch.in", .virtual, false),
        ]
        for (url, bucket, style, virtual) in table {
            let endpoint =
                try url.map { try BedrockEndpoint(validating: $0) }
                ?? AWSServiceEndpoint.s3.resolve(
                    region: "us-east-1")
            let router = S3Router(style: style, endpoint: endpoint, isCustomEndpoint: url != nil)
            #expect(router.isVirtualHosted(bucket) == virtual, "\(url ?? "AWS") \(bucket) \(style)")
            let op = try BedrockBatchClient.getObjectOperation(bucket: bucket, key: "k")
            let routed = try router.route(op, bucket: bucket)
            if virtual {
                #expect(routed.path == "/k")
                #expect(routed.endpoint?.host == "\(bucket).\(endpoint.host)")
                #expect(routed.endpoint?.port == endpoint.port)
            } else {
                #expect(routed.path == "/\(bucket)/k")
                #expect(routed.endpoint == nil)
            }
        }
        #expect(throws: BedrockError.self) { try S3AddressingStyle(parsing: "vhost") }
        #expect(try S3AddressingStyle(parsing: " Virtual ") == .virtual)
    }

    @Test("the profile's `s3 = addressing_style` sets the style (a bad one is an error); AWS's endpoint is not custom")
    func addressingFromProfile() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-s3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let config = home.appendingPathComponent("config")
        try Data("[default]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n".utf8).write(to: config)
        let environment = ConfigurationEnvironment([
            "AWS_CONFIG_FILE": config.path, "AWS_SHARED_CREDENTIALS_FILE": home.appendingPathComponent("none").path,
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
        ])
        let resolved = try BedrockConfiguration.resolve(environment: environment)
        let settings = try BedrockBatchClient.Configuration(resolved: resolved)
        #expect(settings.s3AddressingStyle == .path)
        #expect(!settings.s3EndpointIsCustom)
        try Data("[default]\nregion = eu-west-1\ns3 =\n  addressing_style = sideways\n".utf8).write(to: config)
        let bad = try BedrockConfiguration.resolve(environment: environment)
        #expect(throws: BedrockError.self) { _ = try BedrockBatchClient.Configuration(resolved: bad) }
    }

    @Test("sizes and counts past S3's limits are clear errors, never a trap")
    func limits() throws {
        for part in [0, -1, 5 * Self.mib - 1, 5 * 1024 * Self.mib + 1, Int.max, Int.min] {
            #expect(throws: BedrockError.self, "\(part)") { _ = try S3TransferConfiguration(partSize: part) }
        }
        for threshold in [0, -1, Int.min] {
            #expect(throws: BedrockError.self) { _ = try S3TransferConfiguration(multipartThreshold: threshold) }
        }
        let standard = S3TransferConfiguration.standard
        #expect(try standard.partSize(forObjectOfSize: 12 * Self.mib) == 8 * Self.mib)
        // 100 GiB in 8 MiB parts would be 12,800 parts: doubled to 16 MiB (6,400).
        #expect(try standard.partSize(forObjectOfSize: 100 * 1024 * Self.mib) == 16 * Self.mib)
        let fiveTiB = Int(S3TransferConfiguration.maximumObjectSize)
        let largest = try standard.partSize(forObjectOfSize: fiveTiB)
        #expect((fiveTiB + largest - 1) / largest <= 10_000)
        for size in [fiveTiB + 1, Int.max, -1] {
            #expect(throws: BedrockError.self) { _ = try standard.partSize(forObjectOfSize: size) }
        }
        for number in [0, -1, 10_001, Int.max, Int.min] {
            #expect(throws: BedrockError.self) {
                _ = try BedrockBatchClient.uploadPartOperation(
                    bucket: "b-1", key: "k", uploadId: "u", partNumber: number, body: [])
            }
        }
        let tooMany = (1...10_001).map { CompletedPart(partNumber: min($0, 10_000), eTag: "\"e\"") }
        #expect(throws: BedrockError.self) {
            _ = try BedrockBatchClient.completeMultipartUploadOperation(
                bucket: "b-1", key: "k", uploadId: "u", parts: tooMany)
        }
        #expect(throws: BedrockError.self) {
            _ = try BedrockBatchClient.completeMultipartUploadOperation(
                bucket: "b-1", key: "k", uploadId: "u", parts: [])
        }
        for id in ["", String(repeating: "u", count: 1025), "a\nb", "é"] {
            #expect(throws: BedrockError.self) {
                _ = try BedrockBatchClient.abortMultipartUploadOperation(bucket: "b-1", key: "k", uploadId: id)
            }
        }
        // An ETag with markup in it is escaped, not spliced into the document.
        let op = try BedrockBatchClient.completeMultipartUploadOperation(
            bucket: "b-1", key: "k", uploadId: "u",
            parts: [CompletedPart(partNumber: 1, eTag: "\"</ETag><Part>&\"")])
        #expect(String(decoding: op.body, as: UTF8.self).contains("<ETag>\"&lt;/ETag&gt;&lt;Part&gt;&amp;\"</ETag>"))
    }

    @Test("hostile answers to the multipart calls are clear errors: no UploadId, no ETag, a huge body")
    func hostileAnswers() async throws {
        struct Answers: TransportMiddleware {
            func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
                switch request.operation {
                case "CreateMultipartUpload":
                    let body = "<InitiateMultipartUploadResult><UploadId>\(String(repeating: "<a>", count: 100_000))"
                    return IncomingResponse(
                        status: 200, headers: [:], body: ResponseBody(bytes: ByteBuffer(string: body)))
                case "UploadPart":
                    return IncomingResponse(status: 200, headers: [:], body: ResponseBody(bytes: ByteBuffer()))
                case "ListParts":
                    let huge = ByteBuffer(repeating: UInt8(ascii: "<"), count: 2 * 1024 * 1024)
                    return IncomingResponse(status: 200, headers: [:], body: ResponseBody(bytes: huge))
                default: return try await next.send(request)
                }
            }
        }
        try await Self.withClient(adjust: { settings, _ in
            settings.shared.middlewares = [Answers()]
            settings.shared.limits.maxBodyBytes = 1024 * 1024
        }) { client in
            _ = try await client.createBucket("batch-in")
            let noId = await #expect(throws: BedrockError.self) {
                _ = try await client.createMultipartUpload(bucket: "batch-in", key: "k")
            }
            #expect(noId?.message.contains("UploadId") == true)
            let noETag = await #expect(throws: BedrockError.self) {
                _ = try await client.uploadPart(
                    bucket: "batch-in", key: "k", uploadId: "u", partNumber: 1, body: Data("x".utf8))
            }
            #expect(noETag?.message.contains("ETag") == true)
            let huge = await #expect(throws: BedrockError.self) {
                _ = try await client.listParts(bucket: "batch-in", key: "k", uploadId: "u")
            }
            #expect(huge?.kind == .responseTooLarge)
        }
    }
}
