import BedrockWire
import Crypto
import Foundation

/// Verifies a SigV4 header signature by signing the request again — with BedrockWire's
/// signer, the configured secret, the signed time and exactly the headers the client
/// listed in `SignedHeaders` — and comparing in constant time. A wrong secret, a
/// changed body, path or signed header all fail with AWS's `InvalidSignatureException`.
enum SignatureCheck {
    static func verify(request: EmulatorRequest, signedHeaders: String, signature: String, credential: EmulatorCredential,
                       scope: (date: String, region: String, service: String), amzDate: String) throws(ServiceError) {
        let names = signedHeaders.split(separator: ";").map { $0.lowercased() }
        guard names.contains("host") else {
            throw RequestAuthenticator.invalidSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.")
        }
        var headers: [(name: String, value: String)] = []
        for name in names {
            let values = request.headers[canonicalForm: name]
            guard !values.isEmpty else { throw RequestAuthenticator.invalidSignature(RequestAuthenticator.signatureMismatch) }
            headers.append((name, values.joined(separator: ",")))
        }
        let bodyBytes = Array(request.body.readableBytesView)
        if let claimed = request.headers.first(name: "x-amz-content-sha256"), claimed.count == 64,
           claimed.lowercased() != SHA256.hash(data: bodyBytes).map({ String(format: "%02x", $0) }).joined() {
            throw ServiceError(name: "XAmzContentSHA256Mismatch", status: 400,
                               message: "The provided 'x-amz-content-sha256' header does not match what was computed.")
        }
        guard let host = request.headers.first(name: "host"), let date = RequestAuthenticator.parseAmzDate(amzDate) else {
            throw RequestAuthenticator.invalidSignature(RequestAuthenticator.signatureMismatch)
        }
        let signer = SigV4Signer(region: scope.region, service: scope.service)
        let credentials = SigV4Credentials(accessKeyId: credential.accessKeyID, secretAccessKey: credential.secretAccessKey,
                                           sessionToken: credential.sessionToken)
        let resigned: SigV4SignedRequest
        do {
            resigned = try signer.sign(SigV4Request(method: request.method, url: "http://\(host)\(request.target)",
                                                    headers: headers, payload: .body(bodyBytes)),
                                       with: credentials, at: date)
        } catch {
            throw RequestAuthenticator.invalidSignature(RequestAuthenticator.signatureMismatch)
        }
        guard resigned.signedHeaders == names.joined(separator: ";"),
              constantTimeEqual(resigned.signature, signature.lowercased()) else {
            throw RequestAuthenticator.invalidSignature(RequestAuthenticator.signatureMismatch)
        }
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
