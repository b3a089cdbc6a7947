import BedrockWire
import Foundation
import TestSupport
import Testing

/// Every `client[]` case: from the headers botocore's signer saw and the body, the
/// exact headers boto3 sent and the same signature.
@Suite struct BotocoreRequestSigningTests {
    @Test func everyClientVectorGetsBotocoresHeadersAndSignature() throws {
        let (file, path) = try SigV4VectorFile.load()
        var checked = 0
        for vector in file.client {
            let input = vector.input
            let expected = vector.expected
            let credentials = SigV4Credentials(
                accessKeyId: input.credentials.access_key,
                secretAccessKey: input.credentials.secret_key,
                sessionToken: input.credentials.session_token)
            let invocationId = expected.headers_sent.first { $0.first == "amz-sdk-invocation-id" }?.last ?? ""
            let result = try BotocoreRequestSigning.authorize(
                method: expected.method, url: expected.url, headers: try expected.headers_at_signing.headerPairs(),
                body: try expected.body.bytes(),
                authorization: .sigV4(credentials, region: expected.signing_region, service: expected.signing_name),
                invocationId: invocationId, date: SigV4Timestamp(amzDate: input.timestamp)!.date)
            #expect(result.headers.map { [$0.name, $0.value] } == expected.headers_sent, "\(vector.id)")
            #expect(result.signed?.canonicalRequest == expected.canonical_request, "\(vector.id)")
            #expect(result.signed?.signature == expected.signature, "\(vector.id)")
            checked += 1
        }
        print("botocore client signing: checked \(checked) client[] cases from \(path)")
        #expect(checked == file.client.count && checked > 0)
    }

    @Test func bearerAuthReplacesSigV4() throws {
        let result = try BotocoreRequestSigning.authorize(
            method: "POST", url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
            headers: [("Content-Type", "application/json"), ("Authorization", "stale"), ("User-Agent", "ua")],
            body: Array("{}".utf8), authorization: .bearer(token: "ABSK-token"), invocationId: "id-1",
            requestHeader: "attempt=2; max=3", date: Date())
        #expect(result.signed == nil)
        #expect(
            result.headers.map { [$0.name, $0.value] } == [
                ["Content-Type", "application/json"], ["User-Agent", "ua"], ["Authorization", "Bearer ABSK-token"],
                ["amz-sdk-invocation-id", "id-1"], ["amz-sdk-request", "attempt=2; max=3"], ["Content-Length", "2"],
            ])
    }
}
