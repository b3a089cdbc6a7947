import BedrockWire
import Foundation

/// The emulator's minimal S3 over the ``ObjectStore``: CreateBucket, HeadBucket,
/// PutObject, GetObject (one byte range too), HeadObject, ListObjectsV2 (with a
/// delimiter's common prefixes) and multipart uploads (CreateMultipartUpload, UploadPart,
/// CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads), with S3's XML answers and
/// errors. Path-style (`/{bucket}/{key}`) and virtual-hosted (`Host: {bucket}.localhost`,
/// `{bucket}.s3.localhost`; see ``S3Addressing``). Requests reach it once authenticated
/// with an `s3` credential scope.
struct S3API {
    let store: ObjectStore
    let service: EmulatorService

    /// The operations served, for the request log.
    enum Operation: String {
        case createBucket = "CreateBucket", putObject = "PutObject", getObject = "GetObject"
        case headObject = "HeadObject", headBucket = "HeadBucket"
        case listObjectsV2 = "ListObjectsV2"
        case createMultipartUpload = "CreateMultipartUpload", uploadPart = "UploadPart"
        case completeMultipartUpload = "CompleteMultipartUpload", abortMultipartUpload = "AbortMultipartUpload"
        case listParts = "ListParts", listMultipartUploads = "ListMultipartUploads"
    }

    /// An S3 error: `<Error><Code>…` with its status.
    struct S3Error: Error {
        var code: String
        var status: Int
        var message: String
        var resource: (name: String, value: String)?
        /// Further elements S3 adds for this code (`<UploadId>`, `<PartNumber>`, …).
        var details: [(name: String, value: String)] = []

        static func noSuchBucket(_ bucket: String) -> S3Error {
            S3Error(
                code: "NoSuchBucket", status: 404, message: "The specified bucket does not exist",
                resource: ("BucketName", bucket))
        }
        static func notImplemented(_ what: String) -> S3Error {
            S3Error(code: "NotImplemented", status: 501, message: "The emulator's S3 does not implement \(what).")
        }
        static func invalidArgument(_ message: String) -> S3Error {
            S3Error(code: "InvalidArgument", status: 400, message: message)
        }
        static func full(_ capacity: Int) -> S3Error {
            S3Error(
                code: "ServiceUnavailable", status: 503,
                message: "The emulator's S3 holds its limit of \(capacity) bytes (max_stored_object_bytes).")
        }
    }

    /// Handles one authenticated S3 request; returns the response and the operation
    /// name (nil when unknown) for the request log.
    func handle(_ request: EmulatorRequest, requestID: String) -> (EmulatorResponse, String?, S3Error?) {
        var operation: Operation?
        do {
            let (bucket, key) = S3Addressing.bucketAndKey(request)
            // `x-id` names the operation for routers (the Smithy S3 model puts
            // `?x-id=PutObject` and the like in its URIs); S3 ignores it, and so does this.
            let query = PercentDecoding.query(request.query).filter { $0.0 != "x-id" }
            let names = Set(query.map(\.0))
            guard !bucket.isEmpty else { throw S3Error.notImplemented("ListBuckets") }
            let response: EmulatorResponse
            switch (request.method, key.isEmpty) {
            case ("POST", false) where names.contains("uploads"):
                operation = .createMultipartUpload
                response = try createMultipartUpload(request, bucket: bucket, key: key, requestID: requestID)
            case ("POST", false) where names.contains("uploadId"):
                operation = .completeMultipartUpload
                response = try completeMultipartUpload(
                    request, bucket: bucket, key: key, query: query, requestID: requestID)
            case ("PUT", false) where names.contains("uploadId") || names.contains("partNumber"):
                operation = .uploadPart
                response = try uploadPart(request, bucket: bucket, key: key, query: query, requestID: requestID)
            case ("DELETE", false) where names.contains("uploadId"):
                operation = .abortMultipartUpload
                response = try abortMultipartUpload(bucket: bucket, key: key, query: query, requestID: requestID)
            case ("GET", false) where names.contains("uploadId"):
                operation = .listParts
                response = try listParts(bucket: bucket, key: key, query: query, requestID: requestID)
            case ("GET", true) where names.contains("uploads"):
                operation = .listMultipartUploads
                response = try listMultipartUploads(bucket: bucket, query: query, requestID: requestID)
            case ("PUT", true):
                operation = .createBucket
                guard query.isEmpty else {
                    throw S3Error.notImplemented("bucket sub-resources (\(RequestLog.cut(String(request.query))))")
                }
                response = try createBucket(bucket, requestID: requestID)
            case ("PUT", false):
                operation = .putObject
                response = try putObject(request, bucket: bucket, key: key, query: query, requestID: requestID)
            case ("GET", false):
                operation = .getObject
                response = try getObject(request, bucket: bucket, key: key, query: query, requestID: requestID)
            case ("HEAD", false):
                operation = .headObject
                response = try headObject(bucket: bucket, key: key, query: query, requestID: requestID)
            case ("HEAD", true):
                operation = .headBucket
                guard query.isEmpty else { throw S3Error.notImplemented("HEAD with bucket sub-resources") }
                guard store.bucketExists(bucket) else { throw S3Error.noSuchBucket(bucket) }
                response = .complete(status: 200, headers: headers(requestID, []), body: [])
            case ("GET", true) where query.contains(where: { $0.0 == "list-type" && $0.1 == "2" }):
                operation = .listObjectsV2
                response = try listObjects(bucket: bucket, query: query, requestID: requestID)
            default:
                throw S3Error.notImplemented("\(request.method) \(RequestLog.cut(String(request.path)))")
            }
            return (response, operation?.rawValue, nil)
        } catch let error as S3Error {
            // S3 answers a failed HEAD with its status alone: a HEAD answer has no body.
            guard request.method != "HEAD" else {
                return (
                    .complete(status: error.status, headers: headers(requestID, []), body: []),
                    operation?.rawValue, error
                )
            }
            return (errorResponse(error, requestID: requestID), operation?.rawValue, error)
        } catch {
            let failure = S3Error(
                code: "InternalError", status: 500, message: "We encountered an internal error. Please try again.")
            return (errorResponse(failure, requestID: requestID), operation?.rawValue, failure)
        }
    }

    private func createBucket(_ bucket: String, requestID: String) throws -> EmulatorResponse {
        guard ObjectStore.isValidBucketName(bucket) else {
            throw S3Error(
                code: "InvalidBucketName", status: 400, message: "The specified bucket is not valid.",
                resource: ("BucketName", bucket))
        }
        guard !store.bucketExists(bucket) else {
            throw S3Error(
                code: "BucketAlreadyOwnedByYou", status: 409,
                message: "Your previous request to create the named bucket succeeded and you already own it.",
                resource: ("BucketName", bucket))
        }
        guard store.createBucket(bucket) else {
            throw S3Error(
                code: "TooManyBuckets", status: 400,
                message:
                    "You have attempted to create more buckets than allowed (the emulator's max_stored_object_bytes is full).",
                resource: ("BucketName", bucket))
        }
        return .complete(status: 200, headers: headers(requestID, [("Location", "/\(bucket)")]), body: [])
    }

    private func putObject(
        _ request: EmulatorRequest, bucket: String, key: String, query: [(String, String)],
        requestID: String
    ) throws -> EmulatorResponse {
        guard query.isEmpty else { throw S3Error.notImplemented("object sub-resources") }
        guard request.headers.first(name: "x-amz-copy-source") == nil else {
            throw S3Error.notImplemented("CopyObject")
        }
        guard key.utf8.count <= 1024 else {
            throw S3Error(code: "KeyTooLongError", status: 400, message: "Your key is too long")
        }
        let bytes = request.bodyBytes
        let extra = try checkedChecksums(request)
        let contentType = request.headers.first(name: "content-type") ?? "binary/octet-stream"
        do {
            let etag = try store.put(bucket: bucket, key: key, bytes: bytes, contentType: contentType)
            return .complete(status: 200, headers: headers(requestID, [("ETag", etag)] + extra), body: [])
        } catch {
            switch error {
            case .noSuchBucket: throw S3Error.noSuchBucket(bucket)
            case .full(let capacity): throw S3Error.full(capacity)
            }
        }
    }

    private func getObject(
        _ request: EmulatorRequest, bucket: String, key: String, query: [(String, String)],
        requestID: String
    ) throws -> EmulatorResponse {
        guard query.isEmpty else { throw S3Error.notImplemented("object sub-resources") }
        let object = try storedObject(bucket: bucket, key: key)
        let size = object.bytes.count
        guard let header = request.headers.first(name: "range"),
            let range = try Self.byteRange(header, size: size)
        else {
            return .complete(status: 200, headers: headers(requestID, objectHeaders(object)), body: object.bytes)
        }
        return .complete(
            status: 206,
            headers: headers(
                requestID,
                objectHeaders(object) + [("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)")]
            ),
            body: Array(object.bytes[range]))
    }

    /// HeadObject: GetObject's headers, Content-Length included, and no body.
    private func headObject(bucket: String, key: String, query: [(String, String)], requestID: String) throws
        -> EmulatorResponse
    {
        guard query.isEmpty else { throw S3Error.notImplemented("object sub-resources") }
        let object = try storedObject(bucket: bucket, key: key)
        return .complete(
            status: 200,
            headers: headers(requestID, objectHeaders(object) + [("Content-Length", String(object.bytes.count))]),
            body: [])
    }

    private func storedObject(bucket: String, key: String) throws -> ObjectStore.StoredObject {
        guard let object = store.get(bucket: bucket, key: key) else {
            if !store.bucketExists(bucket) { throw S3Error.noSuchBucket(bucket) }
            throw S3Error(
                code: "NoSuchKey", status: 404, message: "The specified key does not exist.", resource: ("Key", key))
        }
        return object
    }

    private func objectHeaders(_ object: ObjectStore.StoredObject) -> [(String, String)] {
        [
            ("Content-Type", object.contentType), ("ETag", object.etag),
            ("Last-Modified", Self.httpDate(object.modified)), ("Accept-Ranges", "bytes"),
        ]
    }

    /// The bytes a `Range: bytes=…` header asks of an object of `size` bytes, as S3 reads
    /// it: one range (`a-b`, `a-`, `-n`), cut at the object's end; nil when the header is
    /// not one such range (several ranges, a reversed one, another unit: S3 then sends the
    /// whole object). A range that starts past the end is `InvalidRange` (416).
    static func byteRange(_ header: String, size: Int) throws -> Range<Int>? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.lowercased().hasPrefix("bytes="), !text.contains(",") else { return nil }
        let spec = text.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        func number(_ s: String) -> Int? { s.allSatisfy(\.isASCII) && !s.isEmpty ? Int(s) : nil }
        let unsatisfiable = S3Error(
            code: "InvalidRange", status: 416, message: "The requested range is not satisfiable",
            resource: ("RangeRequested", header), details: [("ActualObjectSize", String(size))])
        if first.isEmpty {
            guard let count = number(last) else { return nil }
            guard count > 0, size > 0 else { throw unsatisfiable }
            return max(0, size - count)..<size
        }
        guard let start = number(first) else { return nil }
        let end: Int
        if last.isEmpty {
            end = size - 1
        } else {
            guard let given = number(last), given >= start else { return nil }
            end = min(given, size - 1)
        }
        guard start < size else { throw unsatisfiable }
        return start..<(end + 1)
    }

    private func listObjects(bucket: String, query: [(String, String)], requestID: String) throws -> EmulatorResponse {
        var prefix = ""
        var maxKeys = 1000
        var continuation: String?
        var startAfter: String?
        var delimiter: String?
        var urlEncoded = false
        for (name, value) in query {
            switch name {
            case "list-type": break
            case "prefix": prefix = value
            case "max-keys":
                guard let number = Int(value), number >= 0 else {
                    throw S3Error.invalidArgument("Provided max-keys not an integer or within integer range")
                }
                maxKeys = min(number, 1000)
            case "continuation-token": continuation = value
            case "start-after": startAfter = value
            case "encoding-type":
                guard value == "url" else {
                    throw S3Error.invalidArgument("Invalid Encoding Method specified in Request")
                }
                urlEncoded = true
            case "fetch-owner": break
            case "delimiter": delimiter = value.isEmpty ? nil : value
            default: throw S3Error.notImplemented("the ListObjectsV2 parameter \(RequestLog.cut(name))")
            }
        }
        guard let all = store.list(bucket: bucket, prefix: prefix) else { throw S3Error.noSuchBucket(bucket) }
        var after: [UInt8]? = startAfter.map { Array($0.utf8) }
        var resumedAtCommonPrefix = false
        if let continuation {
            guard let decoded = Data(base64Encoded: continuation) else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect")
            }
            after = Array(decoded)
            if let delimiter, let after {
                resumedAtCommonPrefix = after.reversed().starts(with: Array(delimiter.utf8).reversed())
            }
        }
        // In key order: the keys, and with a delimiter the common prefixes that stand for
        // the keys under them (each counts once toward max-keys); one entry past a page
        // says the page is truncated.
        var entries: [ListEntry] = []
        for item in all {
            let bytes = Array(item.key.utf8)
            if let after {
                guard after.lexicographicallyPrecedes(bytes) else { continue }
                // The last page ended on a common prefix: its keys were shown by it.
                if resumedAtCommonPrefix && bytes.starts(with: after) { continue }
            }
            if let delimiter, let common = Self.commonPrefix(of: bytes, after: prefix, delimiter: delimiter) {
                if case .commonPrefix(let last)? = entries.last, last == common { continue }
                entries.append(.commonPrefix(common))
            } else {
                entries.append(.object(item.key, item.object))
            }
            if entries.count > maxKeys { break }
        }
        let page = entries.prefix(maxKeys)
        let truncated = entries.count > maxKeys
        func field(_ text: String) -> String { XML.escape(urlEncoded ? Self.urlEncode(text) : text) }
        var xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        xml += "<Name>\(XML.escape(bucket))</Name><Prefix>\(field(prefix))</Prefix><KeyCount>\(page.count)</KeyCount>"
        if let delimiter { xml += "<Delimiter>\(field(delimiter))</Delimiter>" }
        xml += "<MaxKeys>\(maxKeys)</MaxKeys><IsTruncated>\(truncated)</IsTruncated>"
        if urlEncoded { xml += "<EncodingType>url</EncodingType>" }
        if let continuation { xml += "<ContinuationToken>\(XML.escape(continuation))</ContinuationToken>" }
        if let startAfter { xml += "<StartAfter>\(field(startAfter))</StartAfter>" }
        if truncated, let last = page.last {
            xml += "<NextContinuationToken>\(Data(last.name.utf8).base64EncodedString())</NextContinuationToken>"
        }
        for case .object(let key, let object) in page {
            xml +=
                "<Contents><Key>\(field(key))</Key><LastModified>\(Self.isoDate(object.modified))</LastModified>"
            xml += "<ETag>\(XML.escape(object.etag))</ETag><Size>\(object.bytes.count)</Size>"
            xml += "<StorageClass>STANDARD</StorageClass></Contents>"
        }
        for case .commonPrefix(let common) in page {
            xml += "<CommonPrefixes><Prefix>\(field(common))</Prefix></CommonPrefixes>"
        }
        xml += "</ListBucketResult>"
        return .complete(
            status: 200, headers: headers(requestID, [("Content-Type", "application/xml")]), body: Array(xml.utf8))
    }

    /// One entry of a ListObjectsV2 page.
    private enum ListEntry {
        case object(String, ObjectStore.StoredObject)
        case commonPrefix(String)
        /// What a continuation token resumes after.
        var name: String {
            switch self {
            case .object(let key, _): key
            case .commonPrefix(let prefix): prefix
            }
        }
    }

    /// The common prefix `key` rolls up into: `prefix`, then the key's bytes after it up
    /// to and including the first `delimiter`; nil when no delimiter follows the prefix.
    static func commonPrefix(of key: [UInt8], after prefix: String, delimiter: String) -> String? {
        let start = prefix.utf8.count
        let needle = Array(delimiter.utf8)
        guard !needle.isEmpty, key.count >= start + needle.count else { return nil }
        var i = start
        while i + needle.count <= key.count {
            if key[i..<(i + needle.count)].elementsEqual(needle) {
                return String(decoding: key[..<(i + needle.count)], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    /// Checks a body against the `x-amz-checksum-crc32` it declares (S3's `BadDigest`
    /// when it differs); returns the checksum headers to echo.
    func checkedChecksums(_ request: EmulatorRequest) throws -> [(String, String)] {
        guard let declared = request.headers.first(name: "x-amz-checksum-crc32") else { return [] }
        let crc = CRC32.checksum(request.bodyBytes)
        let computed = Data([UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
            .base64EncodedString()
        guard declared == computed else {
            throw S3Error(
                code: "BadDigest", status: 400,
                message: "The CRC32 you specified did not match the calculated checksum.")
        }
        return [("x-amz-checksum-crc32", computed)]
    }

    // MARK: Answers

    func headers(_ requestID: String, _ extra: [(String, String)]) -> [(String, String)] {
        service.headers(requestID, [("x-amz-request-id", requestID)] + extra)
    }

    /// S3's XML error body.
    func errorResponse(_ error: S3Error, requestID: String) -> EmulatorResponse {
        var xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(error.code)</Code><Message>\(XML.escape(error.message))</Message>"
        if let resource = error.resource { xml += "<\(resource.name)>\(XML.escape(resource.value))</\(resource.name)>" }
        for detail in error.details { xml += "<\(detail.name)>\(XML.escape(detail.value))</\(detail.name)>" }
        xml += "<RequestId>\(requestID)</RequestId></Error>"
        return .complete(
            status: error.status, headers: headers(requestID, [("Content-Type", "application/xml")]),
            body: Array(xml.utf8))
    }

    /// The whole S3 error for a request that failed authentication.
    static func authenticationError(_ error: ServiceError) -> S3Error {
        if error.message.contains("'x-amz-content-sha256' header does not match") {
            return S3Error(
                code: "XAmzContentSHA256Mismatch", status: 400,
                message: "The provided 'x-amz-content-sha256' header does not match what was computed.")
        }
        let code =
            switch error.name {
            case "InvalidSignatureException": "SignatureDoesNotMatch"
            case "UnrecognizedClientException": "InvalidAccessKeyId"
            case "MissingAuthenticationTokenException": "AccessDenied"
            case "ExpiredTokenException": "ExpiredToken"
            default: error.name
            }
        return S3Error(code: code, status: error.status, message: error.message)
    }

    static func isoDate(_ date: Date) -> String {
        ISO8601Text.formatWithFractionalSeconds(date)
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    /// S3's `encoding-type=url` form: everything but unreserved characters and `/` encoded.
    static func urlEncode(_ text: String) -> String {
        SigV4Canonicalization.percentEncode(text, keeping: Set("/".utf8))
    }
}

/// XML text escaping for S3 answers.
enum XML {
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
