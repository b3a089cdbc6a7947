import BedrockWire
import Foundation
import NIOHTTP1

/// Who made a request and which emulated region it addressed.
struct AuthenticatedCaller: Sendable {
    /// Masked access key id, or `bearer`.
    var principal: String
    var region: String
    /// The signing name the request was scoped to: `bedrock` (runtime and control
    /// plane; bearer tokens too) or `s3`.
    var service: String = BedrockWire.signingName
}

/// Authenticates requests like AWS's front end: SigV4 checked by BedrockWire's
/// `SigV4Verifier` against the configured key pairs (clock skew, scope, session
/// tokens, expiry, both canonicalisations), or a configured bearer token; each
/// failure becomes AWS's error (`InvalidSignatureException`,
/// `UnrecognizedClientException`, `MissingAuthenticationTokenException`, …).
struct RequestAuthenticator: Sendable {
    let configuration: EmulatorConfiguration
    private let bedrockVerifier: SigV4Verifier
    /// S3's rules: scope `s3`, the path signed as sent.
    private let s3Verifier: SigV4Verifier

    init(configuration: EmulatorConfiguration) {
        self.configuration = configuration
        var keys: [String: SigV4Credentials] = [:]
        for credential in configuration.credentials where keys[credential.accessKeyID] == nil {
            keys[credential.accessKeyID] = SigV4Credentials(
                accessKeyId: credential.accessKeyID, secretAccessKey: credential.secretAccessKey,
                sessionToken: credential.sessionToken, expiration: credential.expiration)
        }
        let lookup = keys
        let skew = configuration.clockSkew.components
        let allowedSkew = TimeInterval(skew.seconds) + TimeInterval(skew.attoseconds) / 1e18
        bedrockVerifier = SigV4Verifier(
            regions: Set(configuration.regions), allowedClockSkew: allowedSkew,
            secrets: { lookup[$0] })
        s3Verifier = SigV4Verifier(
            service: "s3", regions: Set(configuration.regions), allowedClockSkew: allowedSkew,
            pathCanonicalization: .asSent, secrets: { lookup[$0] })
    }

    /// The verifier for the service a SigV4 request's credential scope names: S3's
    /// for `/s3/aws4_request`, Bedrock's otherwise (which then reports a wrong scope).
    private func verifier(for request: EmulatorRequest) -> SigV4Verifier {
        Self.scopedService(request) == "s3" ? s3Verifier : bedrockVerifier
    }

    /// The service named in the `Authorization` header's credential scope, if any.
    static func scopedService(_ request: EmulatorRequest) -> String? {
        guard let authorization = request.headers.first(name: "authorization"),
            let range = authorization.range(of: "Credential=")
        else { return nil }
        let credential = authorization[range.upperBound...].prefix { $0 != "," && $0 != " " }
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 5 ? String(parts[3]) : nil
    }

    /// S3 refuses a signed request without `x-amz-content-sha256`, and this emulator
    /// does not decode `aws-chunked` bodies: both are clear errors.
    private func checkS3Payload(_ request: EmulatorRequest) throws(ServiceError) {
        guard let declared = request.headers.first(name: "x-amz-content-sha256") else {
            throw ServiceError(
                name: "InvalidRequest", status: 400,
                message: "Missing required header for this request: x-amz-content-sha256")
        }
        if declared.hasPrefix("STREAMING-") {
            throw ServiceError(
                name: "NotImplemented", status: 501,
                message: "The emulator's S3 does not accept aws-chunked (\(declared)) bodies; send the payload whole.")
        }
    }

    static let unrecognizedClient = ServiceError(
        name: "UnrecognizedClientException", status: 403,
        message: "The security token included in the request is invalid.")

    func authenticate(_ request: EmulatorRequest) throws(ServiceError) -> AuthenticatedCaller {
        if let authorization = request.headers.first(name: "authorization"), authorization.hasPrefix("Bearer ") {
            let token = String(authorization.dropFirst("Bearer ".count))
            guard configuration.bearerTokens.contains(token) else { throw Self.unrecognizedClient }
            return AuthenticatedCaller(principal: "bearer", region: regionFromHost(request) ?? defaultRegion)
        }
        let received = SigV4ReceivedRequest(
            method: request.method, requestTarget: request.target,
            headers: request.headers.map { (name: $0.name, value: $0.value) },
            bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: request.bodyBytes))
        let chosen = verifier(for: request)
        if chosen.service == "s3" { try checkS3Payload(request) }
        do {
            let verified = try chosen.verify(received)
            return AuthenticatedCaller(
                principal: EmulatorCredential.mask(verified.accessKeyId), region: verified.region,
                service: verified.service)
        } catch {
            throw ServiceError(
                name: error.errorType, status: error.httpStatus,
                message: error.message + Self.dump(error.expectedCanonicalRequest, request))
        }
    }

    /// What AWS appends to an `InvalidSignatureException` message: the canonical request
    /// and string to sign it expected, `x-amz-security-token` value and all. Clients must
    /// not pass this on (Quarry's client scrubs it); the emulator sends it to prove that.
    static func dump(_ canonicalRequest: String?, _ request: EmulatorRequest) -> String {
        guard let canonicalRequest else { return "" }
        let date = request.headers.first(name: "x-amz-date") ?? ""
        var scope = ""
        if let authorization = request.headers.first(name: "authorization"),
            let range = authorization.range(of: "Credential=")
        {
            let credential = authorization[range.upperBound...].prefix { $0 != "," && $0 != " " }
            if let slash = credential.firstIndex(of: "/") {
                scope = String(credential[credential.index(after: slash)...])
            }
        }
        let stringToSign =
            "AWS4-HMAC-SHA256\n\(date)\n\(scope)\n"
            + SigV4ReceivedRequest.sha256Hex(ofBody: Array(canonicalRequest.utf8))
        return "\n\nThe Canonical String for this request should have been\n'\(canonicalRequest)'\n\n"
            + "The String-to-Sign should have been\n'\(stringToSign)'\n"
    }

    /// Authenticates the head of a request whose body is a stream of signed events
    /// (no body hash yet). SigV4 requests must be signed with
    /// `STREAMING-AWS4-HMAC-SHA256-EVENTS`, and get the verifier that checks each
    /// event's chained signature; bearer requests send their events unsigned.
    func authenticateEventStream(_ request: EmulatorRequest) throws(ServiceError) -> (
        AuthenticatedCaller, SigV4EventVerifier?
    ) {
        if let authorization = request.headers.first(name: "authorization"), authorization.hasPrefix("Bearer ") {
            return (try authenticate(request), nil)
        }
        let received = SigV4ReceivedRequest(
            method: request.method, requestTarget: request.target,
            headers: request.headers.map { (name: $0.name, value: $0.value) }, bodySHA256: nil)
        let verified: SigV4VerifiedRequest
        do {
            verified = try bedrockVerifier.verify(received)
        } catch {
            throw ServiceError(name: error.errorType, status: error.httpStatus, message: error.message)
        }
        guard verified.hasSignedEventPayload else {
            throw .validation(
                "InvokeModelWithBidirectionalStream requires X-Amz-Content-SHA256: STREAMING-AWS4-HMAC-SHA256-EVENTS "
                    + "and a signed event stream body.")
        }
        return (
            AuthenticatedCaller(principal: EmulatorCredential.mask(verified.accessKeyId), region: verified.region),
            verified.eventVerifier()
        )
    }

    private var defaultRegion: String { configuration.regions.first ?? "us-east-1" }

    /// `bedrock-runtime.REGION.amazonaws.com` names a region; loopback hosts do not.
    private func regionFromHost(_ request: EmulatorRequest) -> String? {
        guard let host = request.headers.first(name: "host") else { return nil }
        let labels = host.split(separator: ".")
        guard labels.count >= 3, labels[0] == "bedrock-runtime" else { return nil }
        let region = String(labels[1])
        return configuration.regions.contains(region) ? region : nil
    }
}

extension RequestAuthenticator {
    /// Checks what a request's head alone can prove, before any of its body is read:
    /// a bearer token completely; a SigV4 `Authorization` header's form, signing time,
    /// scope, region, key id, session token and expiry. The signature itself covers
    /// the body's hash, so `authenticate(_:)` checks it once the body (capped at
    /// `maxBodyBytes`) is in. A stranger without a known key id is refused here and
    /// their body never buffered.
    func authenticateHead(_ request: EmulatorRequest) throws(ServiceError) {
        if let authorization = request.headers.first(name: "authorization"), authorization.hasPrefix("Bearer ") {
            _ = try authenticate(request)
            return
        }
        let received = SigV4ReceivedRequest(
            method: request.method, requestTarget: request.target,
            headers: request.headers.map { (name: $0.name, value: $0.value) }, bodySHA256: nil)
        let chosen = verifier(for: request)
        if chosen.service == "s3" { try checkS3Payload(request) }
        do {
            _ = try chosen.verify(received)
        } catch  where error.kind == .invalidSignature && error.message == Self.bodyHashNeeded {
            // Every check before the payload hash passed; the signature waits for the body.
        } catch  where error.expectedCanonicalRequest != nil {
            // A known key whose signature does not match the declared hash: refused once
            // the body is in, by `authenticate(_:)`, with AWS's full message.
        } catch {
            throw ServiceError(name: error.errorType, status: error.httpStatus, message: error.message)
        }
    }

    /// What `SigV4Verifier` says when only the body's hash is missing: every header
    /// check before it passed.
    private static let bodyHashNeeded = "A streamed request body requires the 'x-amz-content-sha256' header."
}
