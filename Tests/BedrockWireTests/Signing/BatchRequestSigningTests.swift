import BedrockWire
import Foundation
import Testing

/// The batch-inference requests as boto3's `s3` and `bedrock` clients send them
/// (`Vectors/batch-requests.json`, made by `gen_batch_requests.py` with botocore
/// 1.43.11: S3's object, listing and multipart operations, path-style and
/// virtual-hosted at `bucket.localhost`, and the four job operations): the verifier accepts each, our signer reproduces each signature, and S3's
/// path rule (signed as sent, never normalised or re-encoded) is what makes the S3 ones verify.
@Suite struct BatchRequestSigningTests {
    struct File: Decodable {
        struct Case: Decodable {
            struct Credentials: Decodable { var access_key_id: String; var secret_access_key: String }
            var id: String
            var service: String
            var method: String
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
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/batch-requests.json").path
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    struct Prepared {
        var received: SigV4ReceivedRequest
        var credentials: SigV4Credentials
        var date: Date
        var body: [UInt8]
        var headers: [(name: String, value: String)]
        var signedNames: [String]
    }

    static func prepare(_ vector: File.Case) throws -> Prepared {
        let body = Array(try #require(Data(base64Encoded: vector.body_base64)))
        let url = try #require(URL(string: vector.url))
        let authority = "\(url.host ?? ""):\(url.port ?? 80)"
        let target = String(vector.url.dropFirst("http://".count + authority.count))
        var headers = vector.headers.compactMap { $0.count == 2 ? (name: $0[0], value: $0[1]) : nil }
        headers.append((name: "Host", value: authority))  // urllib3 adds it when sending
        let authorization = try #require(headers.first { $0.name == "Authorization" }?.value)
        let signedList = try #require(authorization.split(separator: " ").first { $0.hasPrefix("SignedHeaders=") })
        let names = signedList.dropFirst("SignedHeaders=".count).trimmingCharacters(in: [","]).split(separator: ";")
            .map(String.init)
        let credentials = SigV4Credentials(
            accessKeyId: vector.credentials.access_key_id, secretAccessKey: vector.credentials.secret_access_key)
        return Prepared(
            received: SigV4ReceivedRequest(
                method: vector.method, requestTarget: target, headers: headers,
                bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: body)),
            credentials: credentials, date: try #require(SigV4Timestamp(amzDate: vector.timestamp)).date,
            body: body, headers: headers, signedNames: names)
    }

    static func rule(_ service: String) -> SigV4PathCanonicalization {
        service == "s3" ? .asSent : .normalizedAndEncoded
    }

    @Test("the verifier accepts every botocore-signed batch request under its service's rules")
    func verifierAccepts() throws {
        let cases = try Self.load()
        #expect(cases.count == 16)
        #expect(Set(cases.map(\.service)) == ["s3", "bedrock"])
        // Every multipart operation, and virtual-hosted addressing, has a case.
        let ids = Set(cases.map(\.id))
        for id in [
            "s3-create-multipart-upload", "s3-upload-part", "s3-complete-multipart-upload", "s3-abort-multipart-upload",
            "s3-list-parts", "s3-list-multipart-uploads", "s3-put-object-virtual-hosted",
            "s3-upload-part-virtual-hosted",
        ] {
            #expect(ids.contains(id), "\(id)")
        }
        for vector in cases {
            let prepared = try Self.prepare(vector)
            let verifier = SigV4Verifier(service: vector.service, pathCanonicalization: Self.rule(vector.service)) {
                $0 == prepared.credentials.accessKeyId ? prepared.credentials : nil
            }
            let verified = try verifier.verify(prepared.received, now: prepared.date)
            #expect(verified.signature == vector.signature, "\(vector.id)")
        }
    }

    @Test("S3 keys with encoded characters or dot segments verify only with the path signed as sent")
    func s3PathRuleIsNeeded() throws {
        let cases = try Self.load().filter { $0.id == "s3-put-object" || $0.id == "s3-put-object-dot-segments" }
        #expect(cases.count == 2)
        for vector in cases {
            let prepared = try Self.prepare(vector)
            let normalising = SigV4Verifier(service: "s3") {
                $0 == prepared.credentials.accessKeyId ? prepared.credentials : nil
            }
            do {
                _ = try normalising.verify(prepared.received, now: prepared.date)
                Issue.record("\(vector.id) verified with the normalising rule")
            } catch {
                // A signature mismatch (every earlier check passed), not some other refusal.
                #expect(error.expectedCanonicalRequest != nil, "\(vector.id): \(error.message)")
            }
        }
    }

    @Test("our signer reproduces botocore's signature for every batch request")
    func signerReproduces() throws {
        for vector in try Self.load() {
            let prepared = try Self.prepare(vector)
            // The headers botocore signed, minus the ones the signer adds itself.
            let given = prepared.headers.filter { header in
                let name = header.name.lowercased()
                return prepared.signedNames.contains(name) && name != "host" && name != "x-amz-date"
            }
            let signer = SigV4Signer(
                region: "us-east-1", service: vector.service, pathCanonicalization: Self.rule(vector.service))
            let signed = try signer.sign(
                SigV4Request(method: vector.method, url: vector.url, headers: given, payload: .body(prepared.body)),
                with: prepared.credentials, at: prepared.date)
            #expect(signed.signature == vector.signature, "\(vector.id): \(signed.canonicalRequest)")
        }
    }
}
