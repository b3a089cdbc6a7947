import BedrockWire
import Foundation
import Testing

/// No way of printing, dumping or encoding signing values reveals a secret.
@Suite struct SigV4CredentialsMaskingTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN"
    static let credentials = SigV4Credentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: secret,
        sessionToken: token, expiration: Date(timeIntervalSince1970: 1_718_890_496))

    func renderings<T>(_ value: T) throws -> [String] where T: Encodable {
        var dumped = ""
        dump(value, to: &dumped)
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        return ["\(value)", String(describing: value), String(reflecting: value), dumped, json]
    }

    @Test func credentialsShowOnlyTheMaskedKeyId() throws {
        for text in try renderings(Self.credentials) {
            #expect(!text.contains(Self.secret), "\(text)")
            #expect(!text.contains(Self.token), "\(text)")
            #expect(!text.contains("AKIAIOSFODNN7EXAMPLE"), "\(text)")
        }
        #expect(
            Self.credentials.description == "SigV4Credentials(AKIA…MPLE, session token: ***, expires: 20240620T133456Z)"
        )
        #expect(Self.credentials.maskedAccessKeyId == "AKIA…MPLE")
        #expect(SecretMasking.maskKeyId("SHORT") == "S… (5 characters)")
        #expect(SecretMasking.maskKeyId("x") == "… (1 character)")
        #expect(SecretMasking.maskKeyId("") == "(empty)")
    }

    @Test func signedRequestsAndVerificationResultsHideTheToken() throws {
        let signed = try SigV4Signer(region: "us-east-1").sign(
            SigV4Request(method: "GET", url: "https://bedrock-runtime.us-east-1.amazonaws.com/", payload: .empty),
            with: Self.credentials, at: Date(timeIntervalSince1970: 1_718_886_896))
        #expect(signed.canonicalRequest.contains(Self.token))  // it is signed…
        var dumped = ""
        dump(signed, to: &dumped)
        for text in ["\(signed)", String(reflecting: signed), dumped] {  // …but never printed
            #expect(!text.contains(Self.token))
            #expect(!text.contains(Self.secret))
        }
        let verifier = SigV4Verifier { _ in Self.credentials }
        let request = SigV4ReceivedRequest(
            method: "GET", requestTarget: "/",
            headers: [("host", "bedrock-runtime.us-east-1.amazonaws.com")] + signed.headers,
            bodySHA256: SigV4Canonicalization.emptyPayloadHash)
        let verified = try verifier.verify(request, now: Date(timeIntervalSince1970: 1_718_886_896))
        var verifiedDump = ""
        dump(verified, to: &verifiedDump)
        for text in ["\(verified)", String(reflecting: verified)] {
            #expect(!text.contains(Self.token))
            #expect(!text.contains(Self.secret))
        }
        #expect(!verifiedDump.contains(Self.secret))
        #expect(!verifiedDump.contains(Self.token))
    }

    @Test func signingErrorsNameTheProblemWithoutSecrets() {
        let signer = SigV4Signer(region: "us-east-1")
        let noSecret = SigV4Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "")
        let error = #expect(throws: SigV4SigningError.self) {
            try signer.sign(SigV4Request(method: "GET", url: "https://h/", payload: .empty), with: noSecret, at: Date())
        }
        #expect(error == .incompleteCredentials("empty secret access key"))
        let badURL = #expect(throws: SigV4SigningError.self) {
            try signer.sign(
                SigV4Request(method: "GET", url: "no-scheme", payload: .empty), with: Self.credentials, at: Date())
        }
        #expect(badURL?.description.contains("invalid URL") == true)
        #expect(badURL.map { !"\($0)".contains(Self.secret) } == true)
        let badRegion = #expect(throws: SigV4SigningError.self) {
            try SigV4Signer(region: "us east/1").sign(
                SigV4Request(method: "GET", url: "https://h/", payload: .empty),
                with: Self.credentials, at: Date())
        }
        #expect(badRegion?.description.contains("region 'us east/1'") == true)
    }
}
