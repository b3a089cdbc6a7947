import BedrockWire
import Foundation
import TestSupport
import Testing

/// Every `direct[]` case of the shared vectors, signed by `SigV4Signer` and compared
/// part by part with what botocore produced.
@Suite struct SigV4SignerConformanceTests {
    @Test func everyDirectVectorMatchesBotocore() throws {
        let (file, path) = try SigV4VectorFile.load()
        var checked = 0
        for vector in file.direct {
            let input = vector.input
            let body = try input.body.bytes()
            let payload: SigV4Payload = input.context.payload_signing_enabled == false ? .unsigned : .body(body)
            #expect(SigV4Crypto_sha256Hex(body) == input.body_sha256, "\(vector.id): body recipe")
            guard let timestamp = SigV4Timestamp(amzDate: input.timestamp) else {
                Issue.record("\(vector.id): bad timestamp \(input.timestamp)")
                continue
            }
            let credentials = SigV4Credentials(
                accessKeyId: input.credentials.access_key,
                secretAccessKey: input.credentials.secret_key,
                sessionToken: input.credentials.session_token)
            let signer = SigV4Signer(region: input.region, service: input.service)
            let request = SigV4Request(
                method: input.method, url: input.url,
                headers: try input.headers.headerPairs(), payload: payload)
            let signed = try signer.sign(request, with: credentials, at: timestamp.date)
            let expected = vector.expected
            #expect(signed.canonicalURI == expected.canonical_uri, "\(vector.id): canonical URI")
            #expect(signed.canonicalQuery == expected.canonical_query_string, "\(vector.id): canonical query")
            #expect(signed.canonicalHeaders == expected.canonical_headers, "\(vector.id): canonical headers")
            #expect(signed.signedHeaders == expected.signed_headers, "\(vector.id): signed headers")
            #expect(signed.payloadHash == expected.payload_hash, "\(vector.id): payload hash")
            #expect(signed.canonicalRequest == expected.canonical_request, "\(vector.id): canonical request")
            #expect(signed.credentialScope == expected.credential_scope, "\(vector.id): scope")
            #expect(signed.stringToSign == expected.string_to_sign, "\(vector.id): string to sign")
            #expect(signed.signature == expected.signature, "\(vector.id): signature")
            #expect(signed.authorization == expected.authorization, "\(vector.id): authorization")
            #expect(
                signed.headers.map { [$0.name, $0.value] } == expected.headers_after_signing,
                "\(vector.id): headers after signing")
            #expect(
                signed.addedHeaders.map { [$0.name, $0.value] } == expected.headers_set_by_signer,
                "\(vector.id): headers set by signer")
            checked += 1
        }
        print("SigV4 signer conformance: checked \(checked) direct[] cases from \(path)")
        #expect(checked == file.direct.count)
        #expect(checked > 0)
    }
}

/// SHA-256 hex through the signer's own public surface (an empty-header request's
/// payload hash), so the test checks the vector's body recipe independently.
func SigV4Crypto_sha256Hex(_ bytes: [UInt8]) -> String {
    if case .sha256Hex(let hex) = SigV4Payload.body(bytes) { return hex }
    return ""
}
