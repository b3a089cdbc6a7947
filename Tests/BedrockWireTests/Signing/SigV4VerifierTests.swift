import BedrockWire
import Foundation
import TestSupport
import Testing

/// `SigV4Verifier` against requests signed by botocore (the shared vectors), by the
/// CRT's canonicalisation, and against every kind of failure.
@Suite struct SigV4VerifierTests {
    static let credentials = SigV4Credentials(
        accessKeyId: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let signingTime = SigV4Timestamp(amzDate: "20240620T123456Z")!.date
    static let url =
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    static let body = Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.utf8)

    func verifier(_ known: [SigV4Credentials] = [credentials], regions: Set<String>? = nil) -> SigV4Verifier {
        SigV4Verifier(regions: regions) { id in known.first { $0.accessKeyId == id } }
    }

    /// What a server receives for a signed request: the signed headers plus `Host`.
    func received(
        _ signed: SigV4SignedRequest, url: String = url, method: String = "POST",
        body: [UInt8] = body, extraHeaders: [(name: String, value: String)] = []
    ) throws -> SigV4ReceivedRequest {
        let parts = try SigV4URL(url)
        return SigV4ReceivedRequest(
            method: method, rawPath: parts.rawPath, rawQuery: parts.rawQuery,
            headers: [("Host", parts.signingHost)] + signed.headers + extraHeaders,
            bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: body))
    }

    func signed(
        _ credentials: SigV4Credentials = credentials, url: String = url,
        headers: [(name: String, value: String)] = [("Content-Type", "application/json")],
        body: [UInt8] = body, payload: SigV4Payload? = nil, region: String = "us-east-1"
    ) throws -> SigV4SignedRequest {
        try SigV4Signer(region: region).sign(
            SigV4Request(method: "POST", url: url, headers: headers, payload: payload ?? .body(body)),
            with: credentials, at: Self.signingTime)
    }

    /// A `direct[]` vector as a server receives it: the headers botocore signed and sent,
    /// plus the `Host` the HTTP library adds from the URL only when the caller set none
    /// (urllib3 sends a caller's `Host` instead of its own: one `Host`, never two).
    static func receivedAsSent(_ vector: SigV4VectorFile.DirectCase) throws -> SigV4ReceivedRequest {
        let input = vector.input
        let parts = try SigV4URL(input.url)
        var headers = try vector.expected.headers_after_signing.headerPairs()
        if !headers.contains(where: { $0.name.lowercased() == "host" }) {
            headers.insert(("Host", parts.signingHost), at: 0)
        }
        return SigV4ReceivedRequest(
            method: input.method, rawPath: parts.rawPath, rawQuery: parts.rawQuery,
            headers: headers, bodySHA256: input.body_sha256)
    }

    @Test func acceptsEveryBotocoreSignedVector() throws {
        let (file, path) = try SigV4VectorFile.load()
        var checked = 0
        for vector in file.direct {
            let input = vector.input
            let credentials = SigV4Credentials(
                accessKeyId: input.credentials.access_key,
                secretAccessKey: input.credentials.secret_key,
                sessionToken: input.credentials.session_token)
            let request = try Self.receivedAsSent(vector)
            let verifier = SigV4Verifier(service: input.service) { $0 == credentials.accessKeyId ? credentials : nil }
            let now = SigV4Timestamp(amzDate: input.timestamp)!.date
            do {
                let verified = try verifier.verify(request, now: now)
                #expect(verified.signature == vector.expected.signature, "\(vector.id)")
                #expect(verified.accessKeyId == credentials.accessKeyId)
                #expect(verified.canonicalization == .botocore, "\(vector.id)")
            } catch {
                Issue.record("\(vector.id): rejected: \(error)")
            }
            checked += 1
        }
        print("SigV4 verifier conformance: accepted \(checked) botocore-signed direct[] cases from \(path)")
        #expect(checked == file.direct.count)
    }

    /// botocore signs a caller-set `Host` (any case, with or without a port, naming
    /// another endpoint, padded) as sent; the emulator must accept every such request
    /// (`Vectors/explicit-host.json`, made by `gen_explicit_host.py` with botocore).
    /// Before, the harness added the URL's host next to the caller's: two `Host`
    /// values, signed as one, rejected.
    @Test func acceptsBotocoreSignedRequestsWithAnExplicitHost() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/explicit-host.json").path
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        let file = try JSONDecoder().decode(SigV4VectorFile.self, from: data)
        #expect(file.direct.count >= 7)
        for vector in file.direct {
            let input = vector.input
            let credentials = SigV4Credentials(
                accessKeyId: input.credentials.access_key,
                secretAccessKey: input.credentials.secret_key)
            let request = try Self.receivedAsSent(vector)
            #expect(request.headers.filter { $0.name.lowercased() == "host" }.count == 1, "\(vector.id)")
            let verifier = SigV4Verifier(service: input.service) { $0 == credentials.accessKeyId ? credentials : nil }
            let verified = try verifier.verify(request, now: SigV4Timestamp(amzDate: input.timestamp)!.date)
            #expect(verified.signature == vector.expected.signature, "\(vector.id)")
            // Our own signer, given the same caller-set Host, signs it exactly as botocore did.
            let signed = try SigV4Signer(region: input.region).sign(
                SigV4Request(
                    method: input.method, url: input.url, headers: try input.headers.headerPairs(),
                    payload: .body(try input.body.bytes())),
                with: credentials, at: SigV4Timestamp(amzDate: input.timestamp)!.date)
            #expect(
                signed.headers.map { [$0.name, $0.value] } == vector.expected.headers_after_signing, "\(vector.id)")
        }
    }

    @Test(arguments: [
        ("a=b+c&d=e%2Bf", "a=b%2Bc&d=e%2Bf"),
        ("a=%2f%e2%9c%93", "a=%2F%E2%9C%93"),
        (
            "submitTimeAfter=2024-06-01T00:00:00Z&p=a/b@c&maxResults=5",
            "submitTimeAfter=2024-06-01T00%3A00%3A00Z&p=a%2Fb%40c&maxResults=5"
        ),
    ])
    func acceptsCRTCanonicalisationOfNonCanonicalQueries(sent: String, crtSigned: String) throws {
        // The CRT signs the strictly re-encoded query but sends the raw one.
        let base = "https://bedrock-runtime.us-east-1.amazonaws.com/async-invoke?"
        let signed = try signed(url: base + crtSigned, headers: [], body: [])
        let request = try received(signed, url: base + sent, body: [])
        let verified = try verifier().verify(request, now: Self.signingTime)
        #expect(verified.canonicalization == .crt)
        // And the botocore form of the same raw query is accepted as botocore.
        let botocore = try self.signed(url: base + sent, headers: [], body: [])
        #expect(
            try verifier().verify(try received(botocore, url: base + sent, body: []), now: Self.signingTime)
                .canonicalization == .botocore)
    }

    @Test func xAmzDateWinsOverAnUnsignedDateHeader() throws {
        // The CRT adds X-Amz-Date even when a Date header is present.
        let signed = try signed()
        let request = try received(signed, extraHeaders: [("Date", "Mon, 01 Jan 1990 00:00:00 GMT")])
        #expect(try verifier().verify(request, now: Self.signingTime).timestamp.amzDate == "20240620T123456Z")
    }

    @Test func missingAuthorizationIsMissingAuthenticationToken() throws {
        let request = SigV4ReceivedRequest(
            method: "POST", requestTarget: "/model/x/converse",
            headers: [("Host", "localhost")], bodySHA256: nil)
        let error = #expect(throws: SigV4VerificationError.self) { try verifier().verify(request) }
        #expect(error?.kind == .missingAuthentication)
        #expect(error?.errorType == "MissingAuthenticationTokenException")
        #expect(error?.httpStatus == 403)
    }

    @Test func unknownKeyIsUnrecognizedClient() throws {
        let stranger = SigV4Credentials(accessKeyId: "AKIAUNKNOWNKEY000001", secretAccessKey: "x")
        let request = try received(try signed(stranger))
        let error = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(request, now: Self.signingTime)
        }
        #expect(error?.kind == .unrecognizedClient)
        #expect(error?.errorType == "UnrecognizedClientException")
        #expect(error?.message == "The security token included in the request is invalid.")
    }

    @Test func wrongSecretTamperedBodyAndTamperedHeaderAreInvalidSignatures() throws {
        let wrongSecret = SigV4Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-the-secret")
        let tamperedBody = Array(#"{"messages":[]}"#.utf8)
        var tamperedHeader = try received(try signed())
        tamperedHeader.headers = tamperedHeader.headers.map {
            $0.name == "Content-Type" ? ($0.name, "text/plain") : $0
        }
        let cases: [SigV4ReceivedRequest] = [
            try received(try signed(wrongSecret)),
            try received(try signed(), body: tamperedBody),
            tamperedHeader,
            try received(try signed(), method: "PUT"),
        ]
        for request in cases {
            let error = #expect(throws: SigV4VerificationError.self) {
                try verifier().verify(request, now: Self.signingTime)
            }
            #expect(error?.kind == .invalidSignature)
            #expect(error?.errorType == "InvalidSignatureException")
            #expect(error?.message.hasPrefix("The request signature we calculated does not match") == true)
            #expect(error?.expectedCanonicalRequest?.hasPrefix("\(request.method)\n/model/") == true)
        }
    }

    @Test func clockSkewOfFiveMinutesIsAllowedAndNoMore() throws {
        let request = try received(try signed())
        #expect(throws: Never.self) { try verifier().verify(request, now: Self.signingTime.addingTimeInterval(300)) }
        #expect(throws: Never.self) { try verifier().verify(request, now: Self.signingTime.addingTimeInterval(-300)) }
        let late = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(request, now: Self.signingTime.addingTimeInterval(301))
        }
        #expect(late?.kind == .signatureExpired)
        #expect(
            late?.message
                == "Signature expired: 20240620T123456Z is now earlier than 20240620T123457Z (20240620T123957Z - 5 min.)"
        )
        let early = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(request, now: Self.signingTime.addingTimeInterval(-301))
        }
        #expect(early?.kind == .signatureNotYetCurrent)
        #expect(early?.message.hasPrefix("Signature not yet current: 20240620T123456Z is still later than") == true)
    }

    @Test func sessionTokensMustMatchTheKey() throws {
        let temporary = SigV4Credentials(
            accessKeyId: "ASIAEXAMPLESESSION01", secretAccessKey: "tempSecret",
            sessionToken: "token-abc")
        let good = try received(try signed(temporary))
        #expect(try verifier([temporary]).verify(good, now: Self.signingTime).accessKeyId == "ASIAEXAMPLESESSION01")

        let wrongToken = SigV4Credentials(
            accessKeyId: "ASIAEXAMPLESESSION01", secretAccessKey: "tempSecret",
            sessionToken: "token-xyz")
        let noToken = SigV4Credentials(accessKeyId: "ASIAEXAMPLESESSION01", secretAccessKey: "tempSecret")
        for request in [try received(try signed(wrongToken)), try received(try signed(noToken))] {
            let error = #expect(throws: SigV4VerificationError.self) {
                try verifier([temporary]).verify(request, now: Self.signingTime)
            }
            #expect(error?.kind == .unrecognizedClient)
            #expect(error.map { !$0.description.contains("token-") } == true)
        }
        // A token presented for a long-term key is refused too.
        let error = #expect(throws: SigV4VerificationError.self) {
            try verifier([noToken]).verify(good, now: Self.signingTime)
        }
        #expect(error?.kind == .unrecognizedClient)
    }

    @Test func expiredCredentialsAreExpiredToken() throws {
        let expired = SigV4Credentials(
            accessKeyId: "ASIAEXAMPLESESSION02", secretAccessKey: "s", sessionToken: "t",
            expiration: Self.signingTime.addingTimeInterval(-1))
        let error = #expect(throws: SigV4VerificationError.self) {
            try verifier([expired]).verify(try received(try signed(expired)), now: Self.signingTime)
        }
        #expect(error?.kind == .expiredToken)
        #expect(error?.errorType == "ExpiredTokenException")
    }

    @Test func scopeMustNameTheServiceAnAllowedRegionAndTheRequestDate() throws {
        let otherRegion = try received(try signed(region: "eu-west-1"))
        let regionError = #expect(throws: SigV4VerificationError.self) {
            try verifier(regions: ["us-east-1"]).verify(otherRegion, now: Self.signingTime)
        }
        #expect(regionError?.message == "Credential should be scoped to a valid region. ")

        let wrongService = try SigV4Signer(region: "us-east-1", service: "bedrock-runtime").sign(
            SigV4Request(method: "POST", url: Self.url, payload: .body(Self.body)), with: Self.credentials,
            at: Self.signingTime)
        let serviceError = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(try received(wrongService), now: Self.signingTime)
        }
        #expect(serviceError?.message == "Credential should be scoped to correct service: 'bedrock'. ")

        var otherDay = try received(try signed())
        otherDay.headers = otherDay.headers.map { $0.name == "X-Amz-Date" ? ($0.name, "20240621T000000Z") : $0 }
        let dateError = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(otherDay, now: SigV4Timestamp(amzDate: "20240621T000000Z")!.date)
        }
        #expect(dateError?.message.hasPrefix("Date in Credential scope does not match") == true)
    }

    @Test func malformedAuthorizationHeadersAreIncompleteSignatures() throws {
        let bearer = SigV4ReceivedRequest(
            method: "GET", requestTarget: "/",
            headers: [
                ("Host", "localhost"), ("Authorization", "Bearer ABSK-secret-bearer-token-value"),
            ], bodySHA256: SigV4Canonicalization.emptyPayloadHash)
        let bearerError = #expect(throws: SigV4VerificationError.self) { try verifier().verify(bearer) }
        #expect(bearerError?.kind == .incompleteSignature)
        #expect(bearerError?.httpStatus == 400)
        #expect(bearerError.map { !$0.description.contains("secret-bearer") } == true)

        let partial = SigV4ReceivedRequest(
            method: "GET", requestTarget: "/",
            headers: [
                ("Host", "localhost"), ("X-Amz-Date", "20240620T123456Z"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240620/us-east-1/bedrock/aws4_request"),
            ], bodySHA256: SigV4Canonicalization.emptyPayloadHash)
        let partialError = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(partial, now: Self.signingTime)
        }
        #expect(
            partialError?.message == "Authorization header requires 'Signature' parameter. "
                + "Authorization header requires 'SignedHeaders' parameter.")

        var noDate = try received(try signed())
        noDate.headers.removeAll { $0.name == "X-Amz-Date" }
        let dateError = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(noDate, now: Self.signingTime)
        }
        #expect(
            dateError?.message == "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    }

    @Test func declaredPayloadHashMustMatchTheBody() throws {
        let hash = SigV4ReceivedRequest.sha256Hex(ofBody: Self.body)
        let signed = try signed(headers: [("Content-Type", "application/json"), ("X-Amz-Content-SHA256", hash)])
        #expect(throws: Never.self) { try verifier().verify(try received(signed), now: Self.signingTime) }
        let error = #expect(throws: SigV4VerificationError.self) {
            try verifier().verify(try received(signed, body: Array("other".utf8)), now: Self.signingTime)
        }
        #expect(error?.message == "The provided 'x-amz-content-sha256' header does not match what was computed.")
    }

    @Test func unsignedAndStreamingPayloadsVerifyWithoutABodyHash() throws {
        for payload in [SigV4Payload.unsigned, .signedEvents] {
            let signed = try signed(payload: payload)
            var request = try received(signed)
            request.bodySHA256 = nil
            let verified = try verifier().verify(request, now: Self.signingTime)
            #expect(verified.hasSignedEventPayload == (payload == .signedEvents))
        }
    }
}
