import BedrockWire
import Crypto
import EmulatorTestSupport
import Foundation
import Testing

@testable import BedrockEmulator

/// The emulator's S3 multipart uploads and virtual-hosted addressing, over real
/// sockets, signed as botocore signs S3 requests.
@Suite struct S3MultipartTests {
    static let mebibyte = 1024 * 1024

    /// `count` bytes of a pattern that differs per `seed`.
    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static func md5(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A CompleteMultipartUpload body listing `parts` as given (numbers and ETags).
    static func completion(_ parts: [(Int, String)]) -> [UInt8] {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (number, etag) in parts {
            xml += "<Part><ETag>\(XML.escape(etag))</ETag><PartNumber>\(number)</PartNumber></Part>"
        }
        return Array((xml + "</CompleteMultipartUpload>").utf8)
    }

    static func create(_ client: EmulatorHTTPClient, _ path: String) async throws -> String {
        let created = try await client.s3(path + "?uploads", method: "POST")
        #expect(created.status == 200, "\(created.text)")
        return try #require(created.text.between("<UploadId>", "</UploadId>"))
    }

    static func code(_ reply: EmulatorHTTPClient.Reply) -> String? { reply.text.between("<Code>", "</Code>") }

    static func encode(_ text: String) -> String { SigV4Canonicalization.percentEncode(text, keeping: []) }

    @Test("multipart: create, upload parts (one replaced), list them, complete; the object and its ETag are S3's")
    func roundTrip() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let baseline = emulator.service.objects.storedBytes
            let uploadID = try await Self.create(client, "/mpart/big/object.bin")
            let parts = [
                Self.bytes(5 * Self.mebibyte, seed: 1), Self.bytes(5 * Self.mebibyte + 3, seed: 2),
                Self.bytes(1000, seed: 3),
            ]
            var etags: [String] = []
            // Part 2 first, then 1, then a wrong part 3 replaced by the right one.
            for (number, body) in [(2, parts[1]), (1, parts[0]), (3, [9, 9, 9]), (3, parts[2])] {
                let reply = try await client.s3(
                    "/mpart/big/object.bin?partNumber=\(number)&uploadId=\(uploadID)", method: "PUT", body: body)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.headers["etag"] == "\"\(Self.hex(Self.md5(body)))\"")
                if number == 3, body.count == 3 { continue }
                etags.append(try #require(reply.headers["etag"]))
            }
            etags = [etags[1], etags[0], etags[2]]  // in part-number order

            let listed = try await client.s3("/mpart/big/object.bin?uploadId=\(uploadID)", method: "GET")
            #expect(listed.status == 200)
            #expect(listed.text.components(separatedBy: "<Part>").count == 4)
            #expect(listed.text.contains("<Size>\(5 * Self.mebibyte + 3)</Size>"))
            let page = try await client.s3(
                "/mpart/big/object.bin?max-parts=1&part-number-marker=1&uploadId=\(uploadID)", method: "GET")
            #expect(page.text.contains("<PartNumber>2</PartNumber>"))
            #expect(!page.text.contains("<PartNumber>3</PartNumber>"))
            #expect(page.text.contains("<IsTruncated>true</IsTruncated>"))
            #expect(page.text.contains("<NextPartNumberMarker>2</NextPartNumberMarker>"))

            // Quotes are optional in the completion, as in S3.
            let listing = [(1, etags[0]), (2, etags[1].replacingOccurrences(of: "\"", with: "")), (3, etags[2])]
            let done = try await client.s3(
                "/mpart/big/object.bin?uploadId=\(uploadID)", method: "POST", body: Self.completion(listing))
            #expect(done.status == 200, "\(done.text)")
            let expected = "\"" + Self.hex(Self.md5(parts.flatMap(Self.md5))) + "-3\""
            #expect(done.text.contains("<ETag>\(XML.escape(expected))</ETag>"))
            #expect(done.text.contains("<Key>big/object.bin</Key>"))

            let got = try await client.s3("/mpart/big/object.bin", method: "GET")
            #expect(got.status == 200)
            #expect(got.headers["etag"] == expected)
            #expect(Array(got.body) == parts.flatMap { $0 })
            let objects = try await client.s3("/mpart?list-type=2", method: "GET")
            #expect(objects.text.contains("<Size>\(parts.map(\.count).reduce(0, +))</Size>"))
            #expect(emulator.service.objects.uploadCount == 0)
            #expect(emulator.requests.contains { $0.operation == "CompleteMultipartUpload" && $0.status == 200 })

            // A completed upload is gone.
            let again = try await client.s3(
                "/mpart/big/object.bin?uploadId=\(uploadID)", method: "POST", body: Self.completion(listing))
            #expect(again.status == 404)
            #expect(Self.code(again) == "NoSuchUpload")
            // A plain put has S3's single-part ETag, the body's MD5 (`x-id`, which SDKs built
            // from the Smithy model add, is ignored as S3 ignores it).
            let plain = try await client.s3("/mpart/small?x-id=PutObject", method: "PUT", body: [1, 2, 3])
            #expect(plain.headers["etag"] == "\"\(Self.hex(Self.md5([1, 2, 3])))\"")
            #expect(emulator.service.objects.storedBytes > baseline)
        }
    }

    @Test("multipart: part numbers outside 1…10000, huge, negative or not numbers are InvalidArgument")
    func partNumbers() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let uploadID = try await Self.create(client, "/mpart/k")
            for number in ["0", "10001", "-1", "99999999999999999999999", "1e3", "abc", "", "%2B5"] {
                let reply = try await client.s3(
                    "/mpart/k?partNumber=\(number)&uploadId=\(uploadID)", method: "PUT", body: [1])
                #expect(reply.status == 400, "\(number): \(reply.text)")
                #expect(Self.code(reply) == "InvalidArgument", "\(number)")
            }
            let noUpload = try await client.s3("/mpart/k?partNumber=1", method: "PUT", body: [1])
            #expect(Self.code(noUpload) == "InvalidArgument")
            #expect(
                try await client.s3("/mpart/k?partNumber=10000&uploadId=\(uploadID)", method: "PUT", body: [1]).status
                    == 200)
            #expect(emulator.service.objects.upload(bucket: "mpart", key: "k", uploadID: uploadID)?.parts.count == 1)
        }
    }

    @Test("multipart: an upload id is bound to its bucket and key; another bucket's or key's id is NoSuchUpload")
    func uploadIDsAreScoped() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/mine", method: "PUT").status == 200)
            #expect(try await client.s3("/theirs", method: "PUT").status == 200)
            let theirs = try await Self.create(client, "/theirs/secret")
            let put = try await client.s3(
                "/theirs/secret?partNumber=1&uploadId=\(theirs)", method: "PUT", body: Self.bytes(100, seed: 7))
            let etag = try #require(put.headers["etag"])
            for path in ["/mine/secret", "/theirs/other"] {
                let part = try await client.s3("\(path)?partNumber=1&uploadId=\(theirs)", method: "PUT", body: [1])
                #expect(part.status == 404)
                #expect(Self.code(part) == "NoSuchUpload")
                let list = try await client.s3("\(path)?uploadId=\(theirs)", method: "GET")
                #expect(Self.code(list) == "NoSuchUpload")
                let complete = try await client.s3(
                    "\(path)?uploadId=\(theirs)", method: "POST", body: Self.completion([(1, etag)]))
                #expect(Self.code(complete) == "NoSuchUpload")
                let abort = try await client.s3("\(path)?uploadId=\(theirs)", method: "DELETE")
                #expect(abort.status == 404)
                #expect(Self.code(abort) == "NoSuchUpload")
            }
            let guessed = try await client.s3("/theirs/secret?partNumber=1&uploadId=guess", method: "PUT", body: [1])
            #expect(Self.code(guessed) == "NoSuchUpload")
            #expect(guessed.text.contains("<UploadId>guess</UploadId>"))
            // The owner's upload is untouched.
            let upload = try #require(
                emulator.service.objects.upload(bucket: "theirs", key: "secret", uploadID: theirs))
            #expect(upload.parts[1]?.bytes == Self.bytes(100, seed: 7))
            #expect(try await client.s3("/theirs/secret?uploadId=\(theirs)", method: "DELETE").status == 204)
            #expect(emulator.service.objects.uploadCount == 0)
        }
    }

    @Test(
        "multipart: completing with parts out of order, listed twice, missing, with a wrong ETag or too small is S3's error"
    )
    func completionRules() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let uploadID = try await Self.create(client, "/mpart/k")
            let big = Self.bytes(5 * Self.mebibyte, seed: 4)
            var etags: [Int: String] = [:]
            for (number, body) in [(1, big), (2, Array(big.prefix(10))), (3, Array(big.prefix(20)))] {
                let reply = try await client.s3(
                    "/mpart/k?partNumber=\(number)&uploadId=\(uploadID)", method: "PUT", body: body)
                etags[number] = try #require(reply.headers["etag"])
            }
            func complete(_ parts: [(Int, String)]) async throws -> EmulatorHTTPClient.Reply {
                try await client.s3("/mpart/k?uploadId=\(uploadID)", method: "POST", body: Self.completion(parts))
            }
            let (e1, e2, e3) = (etags[1] ?? "", etags[2] ?? "", etags[3] ?? "")
            let outOfOrder = try await complete([(2, e2), (1, e1)])
            #expect(outOfOrder.status == 400)
            #expect(Self.code(outOfOrder) == "InvalidPartOrder")
            #expect(Self.code(try await complete([(1, e1), (1, e1)])) == "InvalidPartOrder")
            let missing = try await complete([(1, e1), (4, e3)])
            #expect(Self.code(missing) == "InvalidPart")
            #expect(missing.text.contains("<PartNumber>4</PartNumber>"))
            #expect(Self.code(try await complete([(1, e1), (2, e3)])) == "InvalidPart")
            let tooSmall = try await complete([(1, e1), (2, e2), (3, e3)])
            #expect(tooSmall.status == 400)
            #expect(Self.code(tooSmall) == "EntityTooSmall")
            #expect(tooSmall.text.contains("<ProposedSize>10</ProposedSize>"))
            #expect(tooSmall.text.contains("<MinSizeAllowed>5242880</MinSizeAllowed>"))
            #expect(Self.code(try await complete([])) == "MalformedXML")
            #expect(Self.code(try await complete([(0, e1)])) == "InvalidArgument")
            #expect(Self.code(try await complete([(10_001, e1)])) == "InvalidArgument")
            let malformed: [String] = [
                "", "not xml", "<CompleteMultipartUpload>", "<Other><Part/></Other>",
                "<!DOCTYPE x [<!ENTITY a \"b\">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>",
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>trailing",
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&bogus;</ETag></Part></CompleteMultipartUpload>",
                "<CompleteMultipartUpload><Part><PartNumber>1</Part></PartNumber></CompleteMultipartUpload>",
            ]
            for body in malformed {
                let reply = try await client.s3("/mpart/k?uploadId=\(uploadID)", method: "POST", body: Array(body.utf8))
                #expect(reply.status == 400, "\(body)")
                #expect(Self.code(reply) == "MalformedXML", "\(body): \(reply.text)")
            }
            // Every refusal left the upload as it was: the first and last parts complete it
            // (the last may be small; part 2 is dropped), ETags as entities and all.
            let done = try await client.s3(
                "/mpart/k?uploadId=\(uploadID)", method: "POST",
                body: Array(
                    ("<?xml version=\"1.0\"?><!-- c --><CompleteMultipartUpload><Part><PartNumber> 1 </PartNumber>"
                        + "<ETag>&quot;\(e1.dropFirst().dropLast())&#34;</ETag><ChecksumCRC32>x</ChecksumCRC32></Part>"
                        + "<Part><ETag>\(e3)</ETag><PartNumber>3</PartNumber></Part></CompleteMultipartUpload>").utf8))
            #expect(done.status == 200, "\(done.text)")
            #expect(done.text.contains("-2&quot;</ETag>"))
            let got = try await client.s3("/mpart/k", method: "GET")
            #expect(Array(got.body) == big + Array(big.prefix(20)))
            #expect(emulator.service.objects.uploadCount == 0)
        }
    }

    @Test(
        "multipart: 10,000 tiny parts are accepted and bounded; completing them is EntityTooSmall, 10,001 listed is MalformedXML"
    )
    func tenThousandTinyParts() async throws {
        try await withEmulator { emulator, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let uploadID = try await Self.create(client, "/mpart/tiny")
            let store = emulator.service.objects
            let before = store.storedBytes
            var listing: [(Int, String)] = []
            for number in ObjectStore.partNumbers {
                let etag = try store.putPart(
                    bucket: "mpart", key: "tiny", uploadID: uploadID, number: number, bytes: [1])
                listing.append((number, etag))
            }
            // Every part costs its overhead: 10,000 empty-ish parts are not free.
            #expect(store.storedBytes - before == 10_000 * (1 + ObjectStore.perPartOverhead))
            let tooSmall = try await client.s3(
                "/mpart/tiny?uploadId=\(uploadID)", method: "POST", body: Self.completion(listing))
            #expect(Self.code(tooSmall) == "EntityTooSmall", "\(tooSmall.text.prefix(300))")
            let tooMany = try await client.s3(
                "/mpart/tiny?uploadId=\(uploadID)", method: "POST", body: Self.completion(listing + [(1, listing[0].1)])
            )
            #expect(Self.code(tooMany) == "MalformedXML")
            let page = try await client.s3("/mpart/tiny?uploadId=\(uploadID)&max-parts=5000", method: "GET")
            #expect(page.text.contains("<MaxParts>1000</MaxParts>"))
            #expect(page.text.contains("<NextPartNumberMarker>1000</NextPartNumberMarker>"))
            // Only the last part may be small: the 10,000th alone completes.
            let one = try await client.s3(
                "/mpart/tiny?uploadId=\(uploadID)", method: "POST", body: Self.completion([listing[9_999]]))
            #expect(one.status == 200, "\(one.text)")
            #expect(one.text.contains("-1&quot;</ETag>"))
            #expect(Array(try await client.s3("/mpart/tiny", method: "GET").body) == [1])
            #expect(store.storedBytes - before < 1024)
        }
    }

    @Test(
        "multipart: parts in progress count against max_stored_object_bytes; aborting frees them; abandoned uploads cannot grow without bound"
    )
    func capacity() async throws {
        try await withEmulator({ $0.maxStoredObjectBytes = 64 * 1024 }) { emulator, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let store = emulator.service.objects
            let baseline = store.storedBytes
            let uploadID = try await Self.create(client, "/mpart/k")
            var number = 1
            var full: EmulatorHTTPClient.Reply?
            while number < 100 {
                let reply = try await client.s3(
                    "/mpart/k?partNumber=\(number)&uploadId=\(uploadID)", method: "PUT",
                    body: Self.bytes(8 * 1024, seed: 1))
                if reply.status != 200 {
                    full = reply
                    break
                }
                number += 1
            }
            let refused = try #require(full)
            #expect(refused.status == 503)
            #expect(refused.text.contains("max_stored_object_bytes"))
            #expect(number < 10)
            // A plain put finds the store full too: the parts hold the space.
            #expect(
                try await client.s3("/mpart/other", method: "PUT", body: Self.bytes(16 * 1024, seed: 2)).status == 503)
            #expect(try await client.s3("/mpart/k?uploadId=\(uploadID)", method: "DELETE").status == 204)
            #expect(store.storedBytes == baseline)
            #expect(
                try await client.s3("/mpart/other", method: "PUT", body: Self.bytes(16 * 1024, seed: 2)).status == 200)

            // Uploads started and abandoned, with no parts at all, fill the store too.
            var started = 0
            while started < 10_000 {
                let reply = try await client.s3("/mpart/abandoned-\(started)?uploads", method: "POST")
                if reply.status != 200 {
                    #expect(reply.status == 503)
                    break
                }
                started += 1
            }
            #expect(started < 1000)
            #expect(store.storedBytes <= 64 * 1024)

            // ListMultipartUploads finds them (paged), and aborting them gives the space back.
            var found: [(key: String, id: String)] = []
            var marker = ""
            for _ in 0..<100 {
                let page = try await client.s3("/mpart?max-uploads=50&uploads" + marker, method: "GET")
                #expect(page.status == 200, "\(page.text.prefix(300))")
                for upload in page.text.components(separatedBy: "<Upload>").dropFirst() {
                    found.append(
                        (
                            key: upload.between("<Key>", "</Key>") ?? "",
                            id: upload.between("<UploadId>", "</UploadId>") ?? ""
                        ))
                }
                guard page.text.contains("<IsTruncated>true</IsTruncated>"),
                    let key = page.text.between("<NextKeyMarker>", "</NextKeyMarker>"),
                    let id = page.text.between("<NextUploadIdMarker>", "</NextUploadIdMarker>")
                else { break }
                marker = "&key-marker=\(Self.encode(key))&upload-id-marker=\(Self.encode(id))"
            }
            #expect(found.count == started)
            #expect(Set(found.map(\.id)).count == started)
            let afterFill = store.storedBytes
            for upload in found {
                #expect(
                    try await client.s3("/mpart/\(upload.key)?uploadId=\(upload.id)", method: "DELETE").status == 204)
            }
            #expect(store.uploadCount == 0)
            #expect(store.storedBytes < afterFill)
            #expect(try await client.s3("/mpart/after?uploads", method: "POST").status == 200)
        }
    }

    @Test("multipart: UploadPart checks a declared CRC32 and echoes it; CreateMultipartUpload echoes its algorithm")
    func checksums() async throws {
        try await withEmulator { _, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let created = try await client.s3(
                "/mpart/k?uploads", method: "POST", headers: ["x-amz-checksum-algorithm": "CRC32"])
            #expect(created.headers["x-amz-checksum-algorithm"] == "CRC32")
            let uploadID = try #require(created.text.between("<UploadId>", "</UploadId>"))
            let body: [UInt8] = Array("hello".utf8)
            let crc = CRC32.checksum(body)
            let good = Data([UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
                .base64EncodedString()
            let ok = try await client.s3(
                "/mpart/k?partNumber=1&uploadId=\(uploadID)", method: "PUT", body: body,
                headers: ["x-amz-checksum-crc32": good])
            #expect(ok.status == 200)
            #expect(ok.headers["x-amz-checksum-crc32"] == good)
            let bad = try await client.s3(
                "/mpart/k?partNumber=2&uploadId=\(uploadID)", method: "PUT", body: body,
                headers: ["x-amz-checksum-crc32": "AAAAAA=="])
            #expect(Self.code(bad) == "BadDigest")
            let unknown = try await client.s3(
                "/mpart/j?uploads", method: "POST", headers: ["x-amz-checksum-algorithm": "MD4"])
            #expect(Self.code(unknown) == "InvalidArgument")
        }
    }

    @Test(
        "multipart: a part above max_body_bytes, or a negative or overflowing Content-Length, stores nothing and the emulator serves on"
    )
    func oversizedAndBogusLengths() async throws {
        try await withEmulator({ $0.maxBodyBytes = 64 * 1024 }) { emulator, client in
            #expect(try await client.s3("/mpart", method: "PUT").status == 200)
            let uploadID = try await Self.create(client, "/mpart/k")
            let store = emulator.service.objects
            let before = store.storedBytes
            let big = try await client.s3(
                "/mpart/k?partNumber=1&uploadId=\(uploadID)", method: "PUT", body: Self.bytes(100 * 1024, seed: 5))
            #expect(big.status == 400)
            #expect(big.text.contains("limit"))
            let port = client.endpoint.port
            for length in ["-1", "18446744073709551616", "99999999999999999999999999"] {
                let head =
                    "PUT /mpart/k?partNumber=2&uploadId=\(uploadID) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                    + "Content-Length: \(length)\r\n\r\nxx"
                let reply: (status: Int, headers: String, body: [UInt8])? = try await withCheckedThrowingContinuation {
                    continuation in
                    Thread {
                        continuation.resume(
                            with: Result {
                                let connection = try RawConnection(port: port, receiveTimeout: 5)
                                connection.send(head)
                                return connection.readResponse()
                            })
                    }.start()
                }
                // Refused (or the connection closed), never a crash or a stored part.
                if let reply { #expect((400..<500).contains(reply.status), "\(length)") }
            }
            #expect(store.upload(bucket: "mpart", key: "k", uploadID: uploadID)?.parts.isEmpty == true)
            #expect(store.storedBytes == before)
            let fine = try await client.s3("/mpart/k?partNumber=1&uploadId=\(uploadID)", method: "PUT", body: [1, 2])
            #expect(fine.status == 200)
        }
    }

    @Test(
        "the CompleteMultipartUpload reader answers every truncation and byte change of a valid body with parts or MalformedXML-style errors"
    )
    func completionReaderIsTotal() throws {
        let valid = Array(
            ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<Part><ETag>&quot;0123&quot;</ETag><PartNumber>1</PartNumber><ChecksumCRC32>AAAA</ChecksumCRC32></Part>"
                + "<Part><PartNumber>2</PartNumber><ETag>\"4567\"</ETag></Part></CompleteMultipartUpload>").utf8)
        let parsed = try CompleteMultipartUploadBody.parse(valid)
        #expect(parsed.map(\.number) == [1, 2])
        #expect(parsed.map(\.etag) == ["\"0123\"", "\"4567\""])
        var outcomes: [String: Int] = [:]
        func attempt(_ bytes: [UInt8]) {
            do {
                let parts = try CompleteMultipartUploadBody.parse(bytes)
                #expect(!parts.isEmpty && parts.allSatisfy { ObjectStore.partNumbers.contains($0.number) })
                outcomes["parts", default: 0] += 1
            } catch let error as S3API.S3Error {
                #expect(error.status == 400)
                #expect(["MalformedXML", "InvalidArgument"].contains(error.code), "\(error.code)")
                outcomes[error.code, default: 0] += 1
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        for length in 0..<valid.count { attempt(Array(valid.prefix(length))) }
        for index in valid.indices {
            for replacement: UInt8 in [0x00, 0x3C, 0x3E, 0x26, 0x2F, 0x22, 0x39, 0xFF] {
                var changed = valid
                changed[index] = replacement
                attempt(changed)
            }
        }
        #expect(outcomes["MalformedXML", default: 0] > valid.count)
        #expect(outcomes["parts", default: 0] > 0)
    }

    // MARK: Virtual-hosted addressing

    /// Sends an S3 request over a raw loopback connection with `host` as its `Host`,
    /// signed (scope `s3`) for `signedHost` (the same unless a test forges it). The
    /// blocking socket runs on its own thread, never on the pool the emulator's handlers
    /// need.
    static func virtual(
        _ endpoint: EmulatorEndpoint, host: String, signedHost: String? = nil, _ target: String, method: String,
        body: [UInt8] = []
    ) async throws -> (status: Int, headers: String, body: [UInt8]) {
        let signer = SigV4Signer(region: "us-east-1", service: "s3", pathCanonicalization: .asSent)
        let request = SigV4Request(
            method: method, url: "http://\(signedHost ?? host)\(target)",
            headers: [("x-amz-content-sha256", SigV4ReceivedRequest.sha256Hex(ofBody: body))], payload: .body(body))
        let signed = try signer.sign(
            request, with: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"), at: Date())
        var head =
            "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in signed.headers where name.lowercased() != "host" { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + body
        let port = endpoint.port
        let reply: (status: Int, headers: String, body: [UInt8])? = try await withCheckedThrowingContinuation {
            continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        // 30 s, not the default 10: beside the whole in-process suite on
                        // 2 cores, one of these answers once took longer than 10 s.
                        let connection = try RawConnection(port: port, receiveTimeout: 30)
                        guard connection.send(bytes) else { return nil }
                        return connection.readResponse()
                    })
            }.start()
        }
        return try #require(reply)
    }

    @Test(
        "virtual-hosted: bucket.localhost and bucket.s3.localhost name the bucket; the signature covers the Host as sent"
    )
    func virtualHosted() async throws {
        try await withEmulator { emulator, client in
            let port = client.endpoint.port
            let host = "vhost.localhost:\(port)"
            #expect(try await Self.virtual(client.endpoint, host: host, "/", method: "PUT").status == 200)
            #expect(emulator.service.objects.bucketExists("vhost"))
            let put = try await Self.virtual(
                client.endpoint, host: host, "/dir/a%20b.txt", method: "PUT", body: Array("one".utf8))
            #expect(put.status == 200, "\(String(decoding: put.body, as: UTF8.self))")
            #expect(emulator.service.objects.get(bucket: "vhost", key: "dir/a b.txt")?.bytes == Array("one".utf8))
            let s3Host = "vhost.s3.localhost:\(port)"
            let got = try await Self.virtual(client.endpoint, host: s3Host, "/dir/a%20b.txt", method: "GET")
            #expect(got.status == 200)
            #expect(got.body == Array("one".utf8))
            let listed = try await Self.virtual(
                client.endpoint, host: host, "/?list-type=2&prefix=dir%2F", method: "GET")
            #expect(String(decoding: listed.body, as: UTF8.self).contains("<Key>dir/a b.txt</Key>"))
            // `s3.localhost` alone names no bucket: path-style there.
            let pathStyle = try await Self.virtual(
                client.endpoint, host: "s3.localhost:\(port)", "/vhost/dir/a%20b.txt", method: "GET")
            #expect(pathStyle.body == Array("one".utf8))
            // Virtual-hosted, `/_quarry/…` is a key, not the admin API.
            let adminLike = try await Self.virtual(
                client.endpoint, host: host, "/_quarry/requests", method: "PUT", body: [7])
            #expect(adminLike.status == 200)
            #expect(emulator.service.objects.get(bucket: "vhost", key: "_quarry/requests")?.bytes == [7])

            // Signed for one bucket's host, sent to another's: the Host is signed.
            #expect(
                try await Self.virtual(client.endpoint, host: "other.localhost:\(port)", "/", method: "PUT").status
                    == 200)
            let forged = try await Self.virtual(
                client.endpoint, host: "other.localhost:\(port)", signedHost: host, "/dir/x", method: "PUT", body: [1])
            #expect(forged.status == 403)
            #expect(String(decoding: forged.body, as: UTF8.self).contains("<Code>SignatureDoesNotMatch</Code>"))
            #expect(emulator.service.objects.get(bucket: "other", key: "dir/x") == nil)
            // Names outside localhost are still refused (DNS rebinding), with the port checked.
            #expect(
                try await Self.virtual(client.endpoint, host: "vhost.example.com:\(port)", "/", method: "GET").status
                    == 403)
            #expect(
                try await Self.virtual(client.endpoint, host: "vhost.localhost:1", "/", method: "GET").status == 403)
            #expect(
                try await Self.virtual(client.endpoint, host: "vhost.localhost.evil.com:\(port)", "/", method: "GET")
                    .status == 403)
        }
    }

    @Test("virtual-hosted: a multipart upload addressed through the Host completes")
    func virtualHostedMultipart() async throws {
        try await withEmulator { emulator, client in
            let host = "vmp.localhost:\(client.endpoint.port)"
            #expect(try await Self.virtual(client.endpoint, host: host, "/", method: "PUT").status == 200)
            let created = try await Self.virtual(client.endpoint, host: host, "/k?uploads", method: "POST")
            let uploadID = try #require(
                String(decoding: created.body, as: UTF8.self).between("<UploadId>", "</UploadId>"))
            let part = try await Self.virtual(
                client.endpoint, host: host, "/k?partNumber=1&uploadId=\(uploadID)", method: "PUT", body: [4, 5])
            #expect(part.status == 200)
            let etag = "\"\(Self.hex(Self.md5([4, 5])))\""
            let done = try await Self.virtual(
                client.endpoint, host: host, "/k?uploadId=\(uploadID)", method: "POST",
                body: Self.completion([(1, etag)]))
            #expect(done.status == 200, "\(String(decoding: done.body, as: UTF8.self))")
            #expect(emulator.service.objects.get(bucket: "vmp", key: "k")?.bytes == [4, 5])
        }
    }
}
