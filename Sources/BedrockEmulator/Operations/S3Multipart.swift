import BedrockWire
import Foundation

// MARK: Multipart uploads

extension S3API {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    /// The checksum algorithms S3 takes in `x-amz-checksum-algorithm`.
    static let checksumAlgorithms: Set<String> = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]

    static func noSuchUpload(_ uploadID: String) -> S3Error {
        S3Error(
            code: "NoSuchUpload", status: 404,
            message:
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            details: [("UploadId", uploadID)])
    }

    static func invalidPartNumber(_ text: String) -> S3Error {
        S3Error(
            code: "InvalidArgument", status: 400,
            message: "Part number must be an integer between 1 and 10000, inclusive",
            details: [("ArgumentName", "partNumber"), ("ArgumentValue", text)])
    }

    /// The one value of a query parameter S3 requires; `InvalidArgument` without it.
    private func required(_ name: String, in query: [(String, String)]) throws -> String {
        guard let value = query.first(where: { $0.0 == name })?.1, !value.isEmpty else {
            throw S3Error.invalidArgument("This operation needs the query parameter \(name).")
        }
        return value
    }

    /// A part number from text: decimal digits naming 1…10000 (anything else, huge,
    /// signed or negative, is S3's `InvalidArgument`, never a trap).
    static func partNumber(_ text: String) throws -> Int {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let number = Int(text), ObjectStore.partNumbers.contains(number)
        else {
            throw invalidPartNumber(RequestLog.cut(text))
        }
        return number
    }

    private func failure(_ error: ObjectStore.MultipartError, bucket: String, uploadID: String) -> S3Error {
        switch error {
        case .noSuchBucket: return .noSuchBucket(bucket)
        case .noSuchUpload: return Self.noSuchUpload(uploadID)
        case .full(let capacity): return .full(capacity)
        case .invalidPart(let number, let etag):
            return S3Error(
                code: "InvalidPart", status: 400,
                message:
                    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                details: [("UploadId", uploadID), ("PartNumber", String(number)), ("ETag", RequestLog.cut(etag))])
        case .invalidPartOrder:
            return S3Error(
                code: "InvalidPartOrder", status: 400,
                message: "The list of parts was not in ascending order. Parts must be ordered by part number.",
                details: [("UploadId", uploadID)])
        case .entityTooSmall(let number, let size, let etag):
            return S3Error(
                code: "EntityTooSmall", status: 400,
                message: "Your proposed upload is smaller than the minimum allowed size",
                details: [
                    ("ProposedSize", String(size)), ("MinSizeAllowed", String(ObjectStore.minimumPartBytes)),
                    ("PartNumber", String(number)), ("ETag", etag),
                ])
        }
    }

    private func xmlResponse(_ body: String, requestID: String, extra: [(String, String)] = []) -> EmulatorResponse {
        .complete(
            status: 200, headers: headers(requestID, [("Content-Type", "application/xml")] + extra),
            body: Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body).utf8))
    }

    func createMultipartUpload(_ request: EmulatorRequest, bucket: String, key: String, requestID: String) throws
        -> EmulatorResponse
    {
        guard key.utf8.count <= 1024 else {
            throw S3Error(code: "KeyTooLongError", status: 400, message: "Your key is too long")
        }
        guard request.headers.first(name: "x-amz-copy-source") == nil else {
            throw S3Error.notImplemented("UploadPartCopy")
        }
        let algorithm = request.headers.first(name: "x-amz-checksum-algorithm")?.uppercased()
        if let algorithm, !Self.checksumAlgorithms.contains(algorithm) {
            throw S3Error.invalidArgument("Checksum algorithm provided is unsupported.")
        }
        let contentType = request.headers.first(name: "content-type") ?? "binary/octet-stream"
        let uploadID: String
        do {
            uploadID = try store.createUpload(
                bucket: bucket, key: key, contentType: contentType, checksumAlgorithm: algorithm)
        } catch {
            throw failure(error, bucket: bucket, uploadID: "")
        }
        var extra: [(String, String)] = []
        if let algorithm { extra += [("x-amz-checksum-algorithm", algorithm), ("x-amz-checksum-type", "COMPOSITE")] }
        return xmlResponse(
            "<InitiateMultipartUploadResult xmlns=\"\(Self.namespace)\"><Bucket>\(XML.escape(bucket))</Bucket>"
                + "<Key>\(XML.escape(key))</Key><UploadId>\(XML.escape(uploadID))</UploadId></InitiateMultipartUploadResult>",
            requestID: requestID, extra: extra)
    }

    func uploadPart(
        _ request: EmulatorRequest, bucket: String, key: String, query: [(String, String)], requestID: String
    ) throws -> EmulatorResponse {
        guard request.headers.first(name: "x-amz-copy-source") == nil else {
            throw S3Error.notImplemented("UploadPartCopy")
        }
        let number = try Self.partNumber(try required("partNumber", in: query))
        let uploadID = try required("uploadId", in: query)
        let extra = try checkedChecksums(request)
        do {
            let etag = try store.putPart(
                bucket: bucket, key: key, uploadID: uploadID, number: number, bytes: request.bodyBytes)
            return .complete(status: 200, headers: headers(requestID, [("ETag", etag)] + extra), body: [])
        } catch {
            throw failure(error, bucket: bucket, uploadID: uploadID)
        }
    }

    func completeMultipartUpload(
        _ request: EmulatorRequest, bucket: String, key: String, query: [(String, String)], requestID: String
    ) throws -> EmulatorResponse {
        let uploadID = try required("uploadId", in: query)
        // An unknown upload is reported before a malformed body, as S3 does.
        guard store.upload(bucket: bucket, key: key, uploadID: uploadID) != nil else {
            throw Self.noSuchUpload(uploadID)
        }
        let parts = try CompleteMultipartUploadBody.parse(request.bodyBytes)
        let etag: String
        do {
            etag = try store.completeUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        } catch {
            throw failure(error, bucket: bucket, uploadID: uploadID)
        }
        let host = request.headers.first(name: "host") ?? "localhost"
        let location = "http://\(host)/\(bucket)/\(Self.urlEncode(key))"
        return xmlResponse(
            "<CompleteMultipartUploadResult xmlns=\"\(Self.namespace)\"><Location>\(XML.escape(location))</Location>"
                + "<Bucket>\(XML.escape(bucket))</Bucket><Key>\(XML.escape(key))</Key>"
                + "<ETag>\(XML.escape(etag))</ETag></CompleteMultipartUploadResult>",
            requestID: requestID)
    }

    func abortMultipartUpload(bucket: String, key: String, query: [(String, String)], requestID: String) throws
        -> EmulatorResponse
    {
        let uploadID = try required("uploadId", in: query)
        do {
            try store.abortUpload(bucket: bucket, key: key, uploadID: uploadID)
        } catch {
            throw failure(error, bucket: bucket, uploadID: uploadID)
        }
        return .complete(status: 204, headers: headers(requestID, []), body: [])
    }

    func listParts(bucket: String, key: String, query: [(String, String)], requestID: String) throws
        -> EmulatorResponse
    {
        let uploadID = try required("uploadId", in: query)
        var maxParts = 1000
        var marker = 0
        for (name, value) in query {
            switch name {
            case "uploadId": break
            case "max-parts":
                guard value.utf8.count <= 10, let number = Int(value), number >= 0 else {
                    throw S3Error.invalidArgument("Provided max-parts not an integer or within integer range")
                }
                maxParts = min(number, 1000)
            case "part-number-marker":
                guard value.utf8.count <= 10, let number = Int(value), number >= 0 else {
                    throw S3Error.invalidArgument("Provided part-number-marker not an integer or within integer range")
                }
                marker = number
            default: throw S3Error.notImplemented("the ListParts parameter \(RequestLog.cut(name))")
            }
        }
        guard let upload = store.upload(bucket: bucket, key: key, uploadID: uploadID) else {
            throw Self.noSuchUpload(uploadID)
        }
        let remaining = upload.parts.filter { $0.key > marker }.sorted { $0.key < $1.key }
        let page = remaining.prefix(maxParts)
        let truncated = page.count < remaining.count
        var xml = "<ListPartsResult xmlns=\"\(Self.namespace)\"><Bucket>\(XML.escape(bucket))</Bucket>"
        xml += "<Key>\(XML.escape(key))</Key><UploadId>\(XML.escape(uploadID))</UploadId>"
        xml += "<PartNumberMarker>\(marker)</PartNumberMarker>"
        xml += "<NextPartNumberMarker>\(page.last?.key ?? 0)</NextPartNumberMarker>"
        xml += "<MaxParts>\(maxParts)</MaxParts><IsTruncated>\(truncated)</IsTruncated>"
        if let algorithm = upload.checksumAlgorithm { xml += "<ChecksumAlgorithm>\(algorithm)</ChecksumAlgorithm>" }
        xml += "<StorageClass>STANDARD</StorageClass>"
        for (number, part) in page {
            xml += "<Part><PartNumber>\(number)</PartNumber><LastModified>\(Self.isoDate(part.modified))</LastModified>"
            xml += "<ETag>\(XML.escape(part.etag))</ETag><Size>\(part.bytes.count)</Size></Part>"
        }
        xml += "</ListPartsResult>"
        return xmlResponse(xml, requestID: requestID)
    }
}

extension S3API {
    /// ListMultipartUploads (`GET /{bucket}?uploads`): the uploads in progress, so an
    /// abandoned one can be found and aborted (it holds its space until then).
    func listMultipartUploads(bucket: String, query: [(String, String)], requestID: String) throws
        -> EmulatorResponse
    {
        var prefix = ""
        var maxUploads = 1000
        var keyMarker = ""
        var idMarker = ""
        for (name, value) in query {
            switch name {
            case "uploads": break
            case "prefix": prefix = value
            case "max-uploads":
                guard value.utf8.count <= 10, let number = Int(value), number >= 0 else {
                    throw S3Error.invalidArgument("Provided max-uploads not an integer or within integer range")
                }
                maxUploads = min(number, 1000)
            case "key-marker": keyMarker = value
            case "upload-id-marker": idMarker = value
            default: throw S3Error.notImplemented("the ListMultipartUploads parameter \(RequestLog.cut(name))")
            }
        }
        guard let all = store.uploads(bucket: bucket, prefix: prefix) else { throw S3Error.noSuchBucket(bucket) }
        // After the marker: later keys, or (with an upload-id marker) later uploads of the marker's key.
        let marker = Array(keyMarker.utf8)
        var remaining = all[...]
        if !keyMarker.isEmpty {
            if !idMarker.isEmpty,
                let at = all.firstIndex(where: { ObjectStore.same($0.key, keyMarker) && $0.id == idMarker })
            {
                remaining = all[(at + 1)...]
            } else {
                remaining = all.drop { !marker.lexicographicallyPrecedes(Array($0.key.utf8)) }
            }
        }
        let page = remaining.prefix(maxUploads)
        let truncated = page.count < remaining.count
        var xml = "<ListMultipartUploadsResult xmlns=\"\(Self.namespace)\"><Bucket>\(XML.escape(bucket))</Bucket>"
        xml += "<KeyMarker>\(XML.escape(keyMarker))</KeyMarker><UploadIdMarker>\(XML.escape(idMarker))</UploadIdMarker>"
        if truncated, let last = page.last {
            xml += "<NextKeyMarker>\(XML.escape(last.key))</NextKeyMarker>"
            xml += "<NextUploadIdMarker>\(XML.escape(last.id))</NextUploadIdMarker>"
        }
        xml += "<Prefix>\(XML.escape(prefix))</Prefix><MaxUploads>\(maxUploads)</MaxUploads>"
        xml += "<IsTruncated>\(truncated)</IsTruncated>"
        for upload in page {
            xml += "<Upload><Key>\(XML.escape(upload.key))</Key><UploadId>\(XML.escape(upload.id))</UploadId>"
            xml +=
                "<StorageClass>STANDARD</StorageClass><Initiated>\(Self.isoDate(upload.initiated))</Initiated></Upload>"
        }
        xml += "</ListMultipartUploadsResult>"
        return .complete(
            status: 200, headers: headers(requestID, [("Content-Type", "application/xml")]), body: Array(xml.utf8))
    }
}

// MARK: Addressing

/// Where an S3 request names its bucket: in the path (`/{bucket}/{key}`, path-style),
/// or in the `Host` (virtual-hosted: `{bucket}.localhost` or `{bucket}.s3.localhost`,
/// with any port the server accepts). botocore with `addressing_style: virtual` and an
/// endpoint URL `http://localhost:PORT` sends `Host: {bucket}.localhost:PORT`; with
/// `http://s3.localhost:PORT`, `{bucket}.s3.localhost:PORT`. Only names under
/// `localhost` (RFC 6761: always loopback, never registrable) are read this way, so a
/// bucket can only come from a name that cannot be rebound to another machine. A bucket
/// whose own name ends in `.s3` cannot be addressed virtual-hosted (use path-style).
enum S3Addressing {
    static let suffix = ".localhost"

    /// The bucket a `Host` value names, or nil when it names none (path-style).
    static func virtualBucket(host value: String) -> String? {
        guard let (name, _) = HostCheck.split(value) else { return nil }
        let host = HostCheck.normalise(name)
        guard host.hasSuffix(suffix) else { return nil }
        var label = String(host.dropLast(suffix.count))
        if label == "s3" { return nil }
        if label.hasSuffix(".s3") { label.removeLast(3) }
        return label.isEmpty ? nil : label
    }

    /// The request's bucket, from its `Host` or its path, and its key (percent-decoded).
    static func bucketAndKey(_ request: EmulatorRequest) -> (bucket: String, key: String) {
        let path = request.path.dropFirst()  // the leading "/"
        if let host = request.headers.first(name: "host"), let bucket = virtualBucket(host: host) {
            return (bucket, PercentDecoding.decode(path))
        }
        let parts = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = PercentDecoding.decode(parts.first ?? "")
        let key = parts.count > 1 ? PercentDecoding.decode(parts[1]) : ""
        return (bucket, key)
    }
}

// MARK: The CompleteMultipartUpload body

/// The parts a `CompleteMultipartUpload` body lists:
/// `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag>…</Part>…`.
/// A small strict reader of just this document (no DTDs or entities beyond XML's five
/// and character references), linear in the body, at most 10,000 parts; anything else
/// is S3's `MalformedXML`. Other members of a part (`ChecksumCRC32`, …) are skipped.
enum CompleteMultipartUploadBody {
    static let malformed = S3API.S3Error(
        code: "MalformedXML", status: 400,
        message: "The XML you provided was not well-formed or did not validate against our published schema")

    static func parse(_ bytes: [UInt8]) throws -> [(number: Int, etag: String)] {
        var reader = Reader(bytes: bytes)
        let parts = try reader.document()
        guard !parts.isEmpty else { throw malformed }
        return parts
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var stack: [String] = []
        var parts: [(number: Int, etag: String)] = []
        var number: Int?
        var numberText: String?
        var etag: String?
        var text: [UInt8] = []
        var rootClosed = false

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() throws -> [(number: Int, etag: String)] {
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "<") {
                    try markup()
                } else {
                    let byte = bytes[index]
                    index += 1
                    if collecting {
                        guard text.count < 512 else { throw CompleteMultipartUploadBody.malformed }
                        text.append(byte)
                    } else if stack.isEmpty, !Self.isSpace(byte) {
                        throw CompleteMultipartUploadBody.malformed  // text outside the root element
                    }
                }
            }
            guard rootClosed, stack.isEmpty else { throw CompleteMultipartUploadBody.malformed }
            return parts
        }

        /// Text is kept only inside a part's `PartNumber` and `ETag`.
        private var collecting: Bool {
            stack.count == 3 && stack[1] == "Part" && (stack[2] == "PartNumber" || stack[2] == "ETag")
        }

        static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

        private mutating func skip(past terminator: [UInt8]) throws {
            var at = index
            while at + terminator.count <= bytes.count {
                if bytes[at..<at + terminator.count].elementsEqual(terminator) {
                    index = at + terminator.count
                    return
                }
                at += 1
            }
            throw CompleteMultipartUploadBody.malformed
        }

        private func starts(with prefix: String) -> Bool {
            let prefix = Array(prefix.utf8)
            return index + prefix.count <= bytes.count
                && bytes[index..<index + prefix.count].elementsEqual(prefix)
        }

        private mutating func markup() throws {
            if starts(with: "<?") {
                try skip(past: Array("?>".utf8))
                return
            }
            if starts(with: "<!--") {
                try skip(past: Array("-->".utf8))
                return
            }
            if starts(with: "<!") { throw CompleteMultipartUploadBody.malformed }  // DTDs, CDATA: not in this document
            let closing = starts(with: "</")
            index += closing ? 2 : 1
            // The tag runs to the next '>' outside a quoted attribute value.
            var quote: UInt8?
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if let open = quote {
                    if byte == open { quote = nil }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: ">") {
                    break
                }
                index += 1
            }
            guard index < bytes.count else { throw CompleteMultipartUploadBody.malformed }
            var tag = bytes[start..<index]
            index += 1  // '>'
            let selfClosing = !closing && tag.last == UInt8(ascii: "/")
            if selfClosing { tag = tag.dropLast() }
            let rawName = tag.prefix { !Self.isSpace($0) && $0 != UInt8(ascii: "/") }
            guard !rawName.isEmpty else { throw CompleteMultipartUploadBody.malformed }
            if closing, rawName.count != tag.count, !tag.dropFirst(rawName.count).allSatisfy(Self.isSpace) {
                throw CompleteMultipartUploadBody.malformed
            }
            // A namespace prefix (`s3:Part`) is ignored.
            let local = rawName.lastIndex(of: UInt8(ascii: ":")).map { rawName[($0 + 1)...] } ?? rawName
            let name = String(decoding: local, as: UTF8.self)
            if closing {
                try close(name)
            } else {
                try open(name)
                if selfClosing { try close(name) }
            }
        }

        private mutating func open(_ name: String) throws {
            guard !rootClosed, stack.count < 8 else { throw CompleteMultipartUploadBody.malformed }
            if stack.isEmpty {
                guard name == "CompleteMultipartUpload" else { throw CompleteMultipartUploadBody.malformed }
            } else if stack.count == 1 {
                guard name == "Part" else { throw CompleteMultipartUploadBody.malformed }
                number = nil
                numberText = nil
                etag = nil
            }
            stack.append(name)
            text = []
        }

        private mutating func close(_ name: String) throws {
            guard stack.last == name else { throw CompleteMultipartUploadBody.malformed }
            if stack.count == 3, stack[1] == "Part" {
                let value = try Self.decode(text).trimmingCharacters(in: .whitespacesAndNewlines)
                switch name {
                case "PartNumber":
                    guard numberText == nil else { throw CompleteMultipartUploadBody.malformed }
                    numberText = value
                    number = try S3API.partNumber(value)
                case "ETag":
                    guard etag == nil else { throw CompleteMultipartUploadBody.malformed }
                    etag = value
                default: break
                }
            } else if stack.count == 2 {
                guard let number, let etag else { throw CompleteMultipartUploadBody.malformed }
                guard parts.count < ObjectStore.partNumbers.upperBound else {
                    throw CompleteMultipartUploadBody.malformed
                }
                parts.append((number, etag))
            } else if stack.count == 1 {
                rootClosed = true
            }
            stack.removeLast()
            text = []
        }

        /// XML's five entities and character references; anything else is malformed.
        static func decode(_ raw: [UInt8]) throws -> String {
            guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
            var out: [UInt8] = []
            var at = 0
            while at < raw.count {
                guard raw[at] == UInt8(ascii: "&") else {
                    out.append(raw[at])
                    at += 1
                    continue
                }
                guard let end = raw[at...].firstIndex(of: UInt8(ascii: ";")), end - at <= 10 else {
                    throw CompleteMultipartUploadBody.malformed
                }
                let entity = String(decoding: raw[(at + 1)..<end], as: UTF8.self)
                switch entity {
                case "quot": out.append(UInt8(ascii: "\""))
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    let scalar: UInt32?
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        scalar = UInt32(entity.dropFirst(2), radix: 16)
                    } else if entity.hasPrefix("#") {
                        scalar = UInt32(entity.dropFirst(1))
                    } else {
                        scalar = nil
                    }
                    guard let scalar, let character = Unicode.Scalar(scalar) else {
                        throw CompleteMultipartUploadBody.malformed
                    }
                    out += Array(String(Character(character)).utf8)
                }
                at = end + 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
