import BedrockRuntime
import BedrockWire
import Foundation

extension BedrockBatchClient {
    /// Pages `listAllObjects` follows at most.
    public static let maxListPages = 1_000

    /// Stores an object: in one request (`PUT /{bucket}/{key}`) with a CRC32 checksum
    /// as botocore sends it (`x-amz-checksum-crc32`), or, from
    /// ``S3TransferConfiguration/multipartThreshold`` bytes on, as a multipart upload
    /// (CRC32 per part; aborted when it fails), as botocore's transfer manager does.
    public func putObject(
        bucket: String, key: String, body: Data, contentType: String? = nil, options: CallOptions = .none
    ) async throws -> BedrockResult<PutObjectResponse> {
        if body.count >= configuration.transfer.multipartThreshold {
            return try await putObjectInParts(
                bucket: bucket, key: key, body: body, contentType: contentType, options: options)
        }
        let op = try Self.putObjectOperation(bucket: bucket, key: key, body: Array(body), contentType: contentType)
        let response = try await s3.send(try router.route(op, bucket: bucket), options: options)
        return BedrockResult(
            output: PutObjectResponse(eTag: response.headers.first(name: "ETag")), attempts: response.attempts,
            requestId: response.requestId)
    }

    /// Reads a whole object (`GET /{bucket}/{key}`), at most `ResponseLimits.maxBodyBytes`;
    /// a CRC32 the answer carries is checked.
    public func getObject(bucket: String, key: String, options: CallOptions = .none) async throws -> BedrockResult<
        GetObjectResponse
    > {
        let response = try await s3.send(
            try router.route(try Self.getObjectOperation(bucket: bucket, key: key), bucket: bucket), options: options)
        if let declared = response.headers.first(name: "x-amz-checksum-crc32"),
            declared != Self.crc32Base64(response.body)
        {
            throw BedrockError.invalidResponse(
                "GetObject: the object's CRC32 does not match its x-amz-checksum-crc32 header",
                status: response.status, requestId: response.requestId)
        }
        return BedrockResult(
            output: GetObjectResponse(
                body: Data(response.body), contentType: response.headers.first(name: "Content-Type"),
                eTag: response.headers.first(name: "ETag")), attempts: response.attempts, requestId: response.requestId)
    }

    /// Lists objects, one page (`GET /{bucket}?list-type=2&…`, keys URL-encoded on the
    /// wire and decoded here, as botocore does).
    public func listObjectsV2(_ request: ListObjectsV2Request, options: CallOptions = .none) async throws
        -> BedrockResult<ListObjectsV2Response>
    {
        let response = try await s3.send(
            try router.route(try Self.listObjectsOperation(request), bucket: request.bucket), options: options)
        return BedrockResult(
            output: try Self.parseListing(response), attempts: response.attempts, requestId: response.requestId)
    }

    /// Every object under `prefix`, page after page; stops with an error on a repeated
    /// continuation token or after `maxListPages` pages.
    public func listAllObjects(bucket: String, prefix: String? = nil, options: CallOptions = .none) async throws
        -> [S3Object]
    {
        var request = ListObjectsV2Request(bucket: bucket, prefix: prefix)
        var seen: Set<String> = []
        var objects: [S3Object] = []
        for _ in 0..<Self.maxListPages {
            let page = try await listObjectsV2(request, options: options).output
            objects += page.contents
            guard page.isTruncated, let token = page.nextContinuationToken, !token.isEmpty else { return objects }
            guard seen.insert(token).inserted else {
                throw BedrockError.invalidResponse("ListObjectsV2 returned the same continuation token twice")
            }
            request.continuationToken = token
        }
        throw BedrockError(
            kind: .responseTooLarge,
            message: "ListObjectsV2 paging stopped: still truncated after \(Self.maxListPages) pages")
    }

    /// Creates a bucket (`PUT /{bucket}`): what a test or the local emulator needs
    /// before a batch; against AWS, buckets are usually made beforehand.
    public func createBucket(_ bucket: String, options: CallOptions = .none) async throws -> BedrockResult<Void> {
        let location = try S3URI(bucket: bucket)
        var op = OperationRequest(name: "CreateBucket", method: .PUT, path: "/\(location.bucket)")
        let region = configuration.shared.region
        if region != "us-east-1" {
            op.body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        let response = try await s3.send(try router.route(op, bucket: location.bucket), options: options)
        return BedrockResult(output: (), attempts: response.attempts, requestId: response.requestId)
    }

    // MARK: Request building (botocore's REST-XML bindings, path-style; `router` re-addresses)

    /// `/{bucket}/{key}` with the key encoded as botocore encodes it (`/` kept).
    static func objectPath(_ location: S3URI, operation: String) throws -> String {
        guard !location.key.isEmpty else {
            throw BedrockError.invalidRequest("\(operation): the key must not be empty")
        }
        return "/\(location.bucket)/" + SigV4Canonicalization.percentEncode(location.key, keeping: Set("/".utf8))
    }

    static func putObjectOperation(bucket: String, key: String, body: [UInt8], contentType: String?) throws
        -> OperationRequest
    {
        let location = try S3URI(bucket: bucket, key: key)
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        headers.append(("x-amz-checksum-crc32", crc32Base64(body)))
        headers.append(("x-amz-sdk-checksum-algorithm", "CRC32"))
        return OperationRequest(
            name: "PutObject", method: .PUT, path: try objectPath(location, operation: "PutObject"),
            headers: headers, body: body)
    }

    static func getObjectOperation(bucket: String, key: String) throws -> OperationRequest {
        let location = try S3URI(bucket: bucket, key: key)
        return OperationRequest(
            name: "GetObject", method: .GET, path: try objectPath(location, operation: "GetObject"),
            headers: [("x-amz-checksum-mode", "ENABLED")])
    }

    static func listObjectsOperation(_ r: ListObjectsV2Request) throws -> OperationRequest {
        let location = try S3URI(bucket: r.bucket)
        var query: [(name: String, value: String)] = [("list-type", "2")]
        func add(_ name: String, _ value: String?) {
            if let value { query.append((name, URIEncoding.encode(value))) }
        }
        add("continuation-token", r.continuationToken)
        add("prefix", r.prefix)
        add("start-after", r.startAfter)
        if let m = r.maxKeys {
            guard (0...1000).contains(m) else {
                throw BedrockError.invalidRequest("ListObjectsV2: maxKeys must be between 0 and 1000, got \(m)")
            }
            add("max-keys", String(m))
        }
        add("encoding-type", "url")
        return OperationRequest(name: "ListObjectsV2", method: .GET, path: "/\(location.bucket)", query: query)
    }

    /// The `ListBucketResult` XML read into a page.
    static func parseListing(_ response: ServiceResponse) throws -> ListObjectsV2Response {
        let text = String(decoding: response.body, as: UTF8.self)
        guard text.contains("<ListBucketResult") else {
            throw BedrockError.invalidResponse(
                "ListObjectsV2 answer is not a ListBucketResult", status: response.status,
                requestId: response.requestId)
        }
        let urlEncoded = XMLElements.text(of: "EncodingType", in: text) == "url"
        func decodeKey(_ raw: String) -> String {
            guard urlEncoded else { return raw }
            let plus = raw.replacingOccurrences(of: "+", with: " ")
            return String(decoding: SigV4Canonicalization.percentDecode(plus), as: UTF8.self)
        }
        var objects: [S3Object] = []
        for block in XMLElements.blocks(named: "Contents", in: text) {
            guard let key = XMLElements.text(of: "Key", in: block) else {
                throw BedrockError.invalidResponse(
                    "ListObjectsV2 answer has an object without a Key", status: response.status,
                    requestId: response.requestId)
            }
            let size = XMLElements.text(of: "Size", in: block).flatMap { Int64($0) } ?? 0
            objects.append(
                S3Object(
                    key: decodeKey(key), size: size, eTag: XMLElements.text(of: "ETag", in: block),
                    lastModified: XMLElements.text(of: "LastModified", in: block)))
        }
        return ListObjectsV2Response(
            contents: objects, isTruncated: XMLElements.text(of: "IsTruncated", in: text) == "true",
            nextContinuationToken: XMLElements.text(of: "NextContinuationToken", in: text),
            keyCount: XMLElements.text(of: "KeyCount", in: text).flatMap { Int($0) })
    }

    /// A CRC32 as S3 writes it: four big-endian bytes, base64.
    static func crc32Base64(_ bytes: some Sequence<UInt8>) -> String {
        let crc = CRC32.checksum(bytes)
        return Data([UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
            .base64EncodedString()
    }
}
