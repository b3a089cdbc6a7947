import BedrockRuntime
import BedrockWire
import Foundation

/// S3's multipart upload, as typed calls (botocore's REST-XML bindings) and as what
/// `putObject` does above ``S3TransferConfiguration/multipartThreshold``.
extension BedrockBatchClient {
    /// Pages `listAllMultipartUploads` follows at most.
    public static let maxMultipartListPages = 1_000
    /// The longest upload id, ETag or checksum accepted from an answer.
    static let maxTokenLength = 1_024

    /// Starts a multipart upload (`POST /{bucket}/{key}?uploads`), declaring CRC32
    /// part checksums as botocore's transfer manager does.
    public func createMultipartUpload(
        bucket: String, key: String, contentType: String? = nil, options: CallOptions = .none
    ) async throws -> BedrockResult<CreateMultipartUploadResponse> {
        let op = try Self.createMultipartUploadOperation(
            bucket: bucket, key: key, contentType: contentType, checksumAlgorithm: "CRC32")
        let response = try await s3.send(try router.route(op, bucket: bucket), options: options)
        let text = String(decoding: response.body, as: UTF8.self)
        guard text.contains("<InitiateMultipartUploadResult"),
            let uploadId = XMLElements.text(of: "UploadId", in: text), Self.isToken(uploadId)
        else {
            throw BedrockError.invalidResponse(
                "CreateMultipartUpload answer has no usable UploadId", status: response.status,
                requestId: response.requestId)
        }
        return BedrockResult(
            output: CreateMultipartUploadResponse(
                bucket: XMLElements.text(of: "Bucket", in: text), key: XMLElements.text(of: "Key", in: text),
                uploadId: uploadId), attempts: response.attempts, requestId: response.requestId)
    }

    /// Uploads one part (`PUT /{bucket}/{key}?uploadId=…&partNumber=N`, 1…10,000)
    /// with its CRC32 (`x-amz-checksum-crc32`).
    public func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: Data, options: CallOptions = .none
    ) async throws -> BedrockResult<UploadPartResponse> {
        try await uploadPart(
            bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, bytes: Array(body),
            options: options)
    }

    /// `uploadPart` on bytes already copied out of the caller's body (one copy per part).
    func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, bytes: [UInt8], options: CallOptions
    ) async throws -> BedrockResult<UploadPartResponse> {
        let op = try Self.uploadPartOperation(
            bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: bytes)
        let response = try await s3.send(try router.route(op, bucket: bucket), options: options)
        guard let eTag = response.headers.first(name: "ETag"), Self.isToken(eTag) else {
            throw BedrockError.invalidResponse(
                "UploadPart answer for part \(partNumber) has no usable ETag", status: response.status,
                requestId: response.requestId)
        }
        let crc = response.headers.first(name: "x-amz-checksum-crc32")
        if let crc, crc != op.headers.first(where: { $0.0 == "x-amz-checksum-crc32" })?.1 {
            throw BedrockError.invalidResponse(
                "UploadPart: S3 recorded CRC32 \(S3URI.shown(crc)) for part \(partNumber), not the one sent",
                status: response.status, requestId: response.requestId)
        }
        return BedrockResult(
            output: UploadPartResponse(eTag: eTag, checksumCRC32: crc), attempts: response.attempts,
            requestId: response.requestId)
    }

    /// Joins the parts into the object (`POST /{bucket}/{key}?uploadId=…`). A 200
    /// answer whose body is an `<Error>` (S3 sends one when it fails after the status
    /// went out), empty or cut short is an error retried like a 500, as botocore does.
    public func completeMultipartUpload(
        bucket: String, key: String, uploadId: String, parts: [CompletedPart], options: CallOptions = .none
    ) async throws -> BedrockResult<CompleteMultipartUploadResponse> {
        let op = try Self.completeMultipartUploadOperation(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        let response = try await s3.send(try router.route(op, bucket: bucket), options: options) {
            status, headers, body in
            if let error = ServiceErrorFormat.s3ErrorIn2xx(status: status, headers: headers, body: body) {
                return error
            }
            // botocore retries a 200 it cannot parse (a partial answer) as a 500.
            guard String(decoding: body, as: UTF8.self).contains("</CompleteMultipartUploadResult>") else {
                return BedrockError(
                    kind: .service(.known(.internalServer)),
                    message: "CompleteMultipartUpload answered HTTP \(status) without a whole "
                        + "CompleteMultipartUploadResult", httpStatus: 500)
            }
            return nil
        }
        let text = String(decoding: response.body, as: UTF8.self)
        guard text.contains("<CompleteMultipartUploadResult") else {
            throw BedrockError.invalidResponse(
                "CompleteMultipartUpload answer is not a CompleteMultipartUploadResult", status: response.status,
                requestId: response.requestId)
        }
        return BedrockResult(
            output: CompleteMultipartUploadResponse(
                location: XMLElements.text(of: "Location", in: text), bucket: XMLElements.text(of: "Bucket", in: text),
                key: XMLElements.text(of: "Key", in: text), eTag: XMLElements.text(of: "ETag", in: text)),
            attempts: response.attempts, requestId: response.requestId)
    }

    /// Abandons an upload and frees its parts (`DELETE /{bucket}/{key}?uploadId=…`).
    public func abortMultipartUpload(
        bucket: String, key: String, uploadId: String, options: CallOptions = .none
    ) async throws -> BedrockResult<Void> {
        let op = try Self.abortMultipartUploadOperation(bucket: bucket, key: key, uploadId: uploadId)
        let response = try await s3.send(try router.route(op, bucket: bucket), options: options)
        return BedrockResult(output: (), attempts: response.attempts, requestId: response.requestId)
    }

    /// One page of an upload's parts (`GET /{bucket}/{key}?uploadId=…`).
    public func listParts(
        bucket: String, key: String, uploadId: String, maxParts: Int? = nil, partNumberMarker: Int? = nil,
        options: CallOptions = .none
    ) async throws -> BedrockResult<ListPartsResponse> {
        let op = try Self.listPartsOperation(
            bucket: bucket, key: key, uploadId: uploadId, maxParts: maxParts, partNumberMarker: partNumberMarker)
        let response = try await s3.send(try router.route(op, bucket: bucket), options: options)
        let text = String(decoding: response.body, as: UTF8.self)
        guard text.contains("<ListPartsResult") else {
            throw BedrockError.invalidResponse(
                "ListParts answer is not a ListPartsResult", status: response.status, requestId: response.requestId)
        }
        var parts: [ListPartsResponse.Part] = []
        for block in XMLElements.blocks(named: "Part", in: text) {
            guard let number = XMLElements.text(of: "PartNumber", in: block).flatMap({ Int($0) }) else {
                throw BedrockError.invalidResponse(
                    "ListParts answer has a part without a PartNumber", status: response.status,
                    requestId: response.requestId)
            }
            parts.append(
                .init(
                    partNumber: number, eTag: XMLElements.text(of: "ETag", in: block),
                    size: XMLElements.text(of: "Size", in: block).flatMap { Int64($0) }))
        }
        return BedrockResult(
            output: ListPartsResponse(
                parts: parts, isTruncated: XMLElements.text(of: "IsTruncated", in: text) == "true",
                nextPartNumberMarker: XMLElements.text(of: "NextPartNumberMarker", in: text).flatMap { Int($0) }),
            attempts: response.attempts, requestId: response.requestId)
    }

    /// One page of a bucket's uploads in progress (`GET /{bucket}?uploads`).
    public func listMultipartUploads(_ request: ListMultipartUploadsRequest, options: CallOptions = .none)
        async throws -> BedrockResult<ListMultipartUploadsResponse>
    {
        let op = try Self.listMultipartUploadsOperation(request)
        let response = try await s3.send(try router.route(op, bucket: request.bucket), options: options)
        let text = String(decoding: response.body, as: UTF8.self)
        guard text.contains("<ListMultipartUploadsResult") else {
            throw BedrockError.invalidResponse(
                "ListMultipartUploads answer is not a ListMultipartUploadsResult", status: response.status,
                requestId: response.requestId)
        }
        var uploads: [ListMultipartUploadsResponse.Upload] = []
        for block in XMLElements.blocks(named: "Upload", in: text) {
            guard let key = XMLElements.text(of: "Key", in: block),
                let id = XMLElements.text(of: "UploadId", in: block)
            else {
                throw BedrockError.invalidResponse(
                    "ListMultipartUploads answer has an upload without a Key or UploadId", status: response.status,
                    requestId: response.requestId)
            }
            uploads.append(.init(key: key, uploadId: id, initiated: XMLElements.text(of: "Initiated", in: block)))
        }
        return BedrockResult(
            output: ListMultipartUploadsResponse(
                uploads: uploads, isTruncated: XMLElements.text(of: "IsTruncated", in: text) == "true",
                nextKeyMarker: XMLElements.text(of: "NextKeyMarker", in: text),
                nextUploadIdMarker: XMLElements.text(of: "NextUploadIdMarker", in: text)),
            attempts: response.attempts, requestId: response.requestId)
    }

    // MARK: putObject above the threshold

    /// Uploads `body` in parts of `partSize` (one part in memory at a time, besides
    /// `body`), then completes the upload; when a part or the completion fails, or the
    /// task is cancelled, the upload is aborted (best effort) and the first error thrown.
    func putObjectInParts(
        bucket: String, key: String, body: Data, contentType: String?, options: CallOptions
    ) async throws -> BedrockResult<PutObjectResponse> {
        let partSize = try configuration.transfer.partSize(forObjectOfSize: body.count)
        let count = max(1, (body.count + partSize - 1) / partSize)
        guard count <= S3TransferConfiguration.maximumParts else {
            throw BedrockError.invalidRequest(
                "PutObject: \(body.count) bytes need \(count) parts; S3 takes at most 10,000")
        }
        let created = try await createMultipartUpload(
            bucket: bucket, key: key, contentType: contentType, options: options)
        let uploadId = created.output.uploadId
        var attempts = created.attempts
        do {
            var parts: [CompletedPart] = []
            parts.reserveCapacity(count)
            for index in 0..<count {
                try Self.checkNotCancelled()
                let start = body.startIndex + index * partSize
                let end = min(start + partSize, body.endIndex)
                let bytes = [UInt8](body[start..<end])
                let part = try await uploadPart(
                    bucket: bucket, key: key, uploadId: uploadId, partNumber: index + 1, bytes: bytes,
                    options: options)
                attempts += part.attempts
                parts.append(
                    CompletedPart(
                        partNumber: index + 1, eTag: part.output.eTag,
                        checksumCRC32: part.output.checksumCRC32 ?? Self.crc32Base64(bytes)))
            }
            try Self.checkNotCancelled()
            let done = try await completeMultipartUpload(
                bucket: bucket, key: key, uploadId: uploadId, parts: parts, options: options)
            attempts += done.attempts
            return BedrockResult(
                output: PutObjectResponse(eTag: done.output.eTag), attempts: attempts, requestId: done.requestId)
        } catch {
            // Not a child of the (perhaps cancelled) caller: the abort is still sent.
            let abort = Task { try? await self.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId) }
            _ = await abort.value
            throw error
        }
    }

    /// Stops a multipart put whose task was cancelled between requests.
    static func checkNotCancelled() throws {
        guard !Task.isCancelled else {
            throw BedrockError(kind: .cancelled, message: "PutObject was cancelled; its multipart upload is aborted")
        }
    }

    // MARK: Request building (botocore's REST-XML bindings, path-style)

    /// An upload id, ETag or checksum from an answer: non-empty, bounded, printable ASCII.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maxTokenLength && text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    static func checkedUploadId(_ uploadId: String, operation: String) throws -> String {
        guard isToken(uploadId) else {
            throw BedrockError.invalidRequest(
                "\(operation): the upload id must be 1-\(maxTokenLength) printable ASCII characters")
        }
        return URIEncoding.encode(uploadId)
    }

    static func checkedPartNumber(_ number: Int, operation: String) throws {
        guard (1...S3TransferConfiguration.maximumParts).contains(number) else {
            throw BedrockError.invalidRequest(
                "\(operation): part numbers run from 1 to \(S3TransferConfiguration.maximumParts), got \(number)")
        }
    }

    static func createMultipartUploadOperation(
        bucket: String, key: String, contentType: String?, checksumAlgorithm: String?
    ) throws -> OperationRequest {
        let location = try S3URI(bucket: bucket, key: key)
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let checksumAlgorithm { headers.append(("x-amz-checksum-algorithm", checksumAlgorithm)) }
        var op = OperationRequest(
            name: "CreateMultipartUpload", method: .POST,
            path: try objectPath(location, operation: "CreateMultipartUpload"), headers: headers)
        op.queryFlags = ["uploads"]
        return op
    }

    static func uploadPartOperation(bucket: String, key: String, uploadId: String, partNumber: Int, body: [UInt8])
        throws -> OperationRequest
    {
        let location = try S3URI(bucket: bucket, key: key)
        try checkedPartNumber(partNumber, operation: "UploadPart")
        guard body.count <= S3TransferConfiguration.maximumPartSize else {
            throw BedrockError.invalidRequest("UploadPart: a part may have at most 5 GiB, got \(body.count) bytes")
        }
        return OperationRequest(
            name: "UploadPart", method: .PUT, path: try objectPath(location, operation: "UploadPart"),
            query: [
                ("uploadId", try checkedUploadId(uploadId, operation: "UploadPart")),
                ("partNumber", String(partNumber)),
            ],
            headers: [("x-amz-checksum-crc32", crc32Base64(body)), ("x-amz-sdk-checksum-algorithm", "CRC32")],
            body: body)
    }

    static func completeMultipartUploadOperation(
        bucket: String, key: String, uploadId: String, parts: [CompletedPart]
    ) throws -> OperationRequest {
        let location = try S3URI(bucket: bucket, key: key)
        let name = "CompleteMultipartUpload"
        guard !parts.isEmpty, parts.count <= S3TransferConfiguration.maximumParts else {
            throw BedrockError.invalidRequest("\(name): name 1 to 10,000 parts, got \(parts.count)")
        }
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            try checkedPartNumber(part.partNumber, operation: name)
            guard isToken(part.eTag), part.checksumCRC32.map(isToken) ?? true else {
                throw BedrockError.invalidRequest("\(name): part \(part.partNumber) has an unusable ETag or checksum")
            }
            xml += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\(xmlText(part.eTag))</ETag>"
            if let crc = part.checksumCRC32 { xml += "<ChecksumCRC32>\(xmlText(crc))</ChecksumCRC32>" }
            xml += "</Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return OperationRequest(
            name: name, method: .POST, path: try objectPath(location, operation: name),
            query: [("uploadId", try checkedUploadId(uploadId, operation: name))], body: Array(xml.utf8))
    }

    static func abortMultipartUploadOperation(bucket: String, key: String, uploadId: String) throws
        -> OperationRequest
    {
        let location = try S3URI(bucket: bucket, key: key)
        let name = "AbortMultipartUpload"
        return OperationRequest(
            name: name, method: .DELETE, path: try objectPath(location, operation: name),
            query: [("uploadId", try checkedUploadId(uploadId, operation: name))])
    }

    static func listPartsOperation(
        bucket: String, key: String, uploadId: String, maxParts: Int?, partNumberMarker: Int?
    ) throws -> OperationRequest {
        let location = try S3URI(bucket: bucket, key: key)
        let name = "ListParts"
        var query: [(name: String, value: String)] = [("uploadId", try checkedUploadId(uploadId, operation: name))]
        if let maxParts {
            guard (0...1000).contains(maxParts) else {
                throw BedrockError.invalidRequest("\(name): maxParts must be between 0 and 1000, got \(maxParts)")
            }
            query.append(("max-parts", String(maxParts)))
        }
        if let partNumberMarker {
            guard (0...S3TransferConfiguration.maximumParts).contains(partNumberMarker) else {
                throw BedrockError.invalidRequest(
                    "\(name): partNumberMarker must be between 0 and 10000, got \(partNumberMarker)")
            }
            query.append(("part-number-marker", String(partNumberMarker)))
        }
        return OperationRequest(
            name: name, method: .GET, path: try objectPath(location, operation: name), query: query)
    }

    static func listMultipartUploadsOperation(_ r: ListMultipartUploadsRequest) throws -> OperationRequest {
        let location = try S3URI(bucket: r.bucket)
        var query: [(name: String, value: String)] = []
        if let prefix = r.prefix { query.append(("prefix", URIEncoding.encode(prefix))) }
        if let m = r.maxUploads {
            guard (0...1000).contains(m) else {
                throw BedrockError.invalidRequest(
                    "ListMultipartUploads: maxUploads must be between 0 and 1000, got \(m)")
            }
            query.append(("max-uploads", String(m)))
        }
        if let marker = r.keyMarker { query.append(("key-marker", URIEncoding.encode(marker))) }
        if let marker = r.uploadIdMarker { query.append(("upload-id-marker", URIEncoding.encode(marker))) }
        var op = OperationRequest(
            name: "ListMultipartUploads", method: .GET, path: "/\(location.bucket)", query: query)
        op.queryFlags = ["uploads"]
        return op
    }

    /// Text escaped for an XML element as botocore's ElementTree writes it (`&`, `<`, `>`).
    static func xmlText(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
