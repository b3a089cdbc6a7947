import BedrockWire
import Foundation
import NIOHTTP1

/// Signs every attempt with SigV4 (BedrockWire's `SigV4Signer`), using credentials
/// fetched for each attempt so refreshed credentials are picked up.
public struct SigV4Authorizer: RequestAuthorizer {
    public let signer: SigV4Signer
    /// Whether each request carries (and signs) `X-Amz-Content-SHA256` with its body's
    /// hash, as S3 requires.
    public let sendsContentSHA256: Bool
    let credentials: @Sendable () async throws -> SigV4Credentials

    /// Signs for `region` with the credentials `credentials` returns, under the signing
    /// rules `rules` (Bedrock's by default).
    public init(
        region: String, rules: SigV4ServiceRules = .bedrock,
        credentials: @escaping @Sendable () async throws -> SigV4Credentials
    ) {
        self.signer = SigV4Signer(region: region, service: rules.service, pathCanonicalization: rules.path)
        self.sendsContentSHA256 = rules.sendsContentSHA256
        self.credentials = credentials
    }

    /// Signs for `region` with credentials from `provider` (e.g. the default chain).
    public init(region: String, rules: SigV4ServiceRules = .bedrock, provider: any CredentialProvider) {
        self.init(region: region, rules: rules, credentials: { try await provider.credentials() })
    }

    /// Signs for `region` with fixed credentials.
    public init(region: String, rules: SigV4ServiceRules = .bedrock, credentials: SigV4Credentials) {
        self.init(region: region, rules: rules, credentials: { credentials })
    }

    /// The same credentials and region, signing by other rules (S3's, say).
    public func with(rules: SigV4ServiceRules) -> SigV4Authorizer {
        SigV4Authorizer(region: signer.region, rules: rules, credentials: credentials)
    }

    public func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {
        let payload = SigV4Payload.body(request.body)
        if sendsContentSHA256, case .sha256Hex(let hash) = payload {
            request.headers.remove(name: "X-Amz-Content-SHA256")
            request.headers.add(name: "X-Amz-Content-SHA256", value: hash)
        }
        _ = try await sign(&request, payload: payload, at: date)
    }

    /// Signs `request` with `payload` as its body hash and sets the signed headers;
    /// returns the credentials used and the signature (the seed of an event chain).
    func sign(
        _ request: inout OutgoingRequest, payload: SigV4Payload,
        at date: Date
    ) async throws -> (credentials: SigV4Credentials, signature: String) {
        let creds: SigV4Credentials
        do {
            creds = try await credentials()
        } catch {
            throw BedrockError(
                kind: .missingCredentials,
                message: "no AWS credentials to sign with (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    + "choose a profile with AWS_PROFILE or --profile, or run `aws configure`): \(error)",
                isRetryable: false,
                retryReason: "credentials must be configured first")
        }
        let toSign = SigV4Request(
            method: request.method.rawValue, url: request.url,
            headers: request.headers.map { (name: $0.name, value: $0.value) },
            payload: payload)
        do {
            let signed = try signer.sign(toSign, with: creds, at: date)
            request.headers = HTTPHeaders(signed.headers.map { ($0.name, $0.value) })
            return (creds, signed.signature)
        } catch {
            throw BedrockError.invalidRequest("could not sign the request: \(error)")
        }
    }
}

/// What differs in SigV4 between the services this package signs for.
public struct SigV4ServiceRules: Sendable, Hashable {
    /// The signing name in the credential scope.
    public var service: String
    /// How the path enters the canonical request.
    public var path: SigV4PathCanonicalization
    /// Whether requests carry `X-Amz-Content-SHA256` with the body's hash.
    public var sendsContentSHA256: Bool

    public init(service: String, path: SigV4PathCanonicalization, sendsContentSHA256: Bool) {
        self.service = service
        self.path = path
        self.sendsContentSHA256 = sendsContentSHA256
    }

    /// Bedrock (runtime and control plane): signing name `bedrock`, the path normalised
    /// and encoded once more, no content-hash header.
    public static let bedrock = SigV4ServiceRules(
        service: BedrockWire.signingName, path: .normalizedAndEncoded, sendsContentSHA256: false)
    /// S3: signing name `s3`, the path signed as sent (never normalised or encoded
    /// again), and `X-Amz-Content-SHA256` on every request.
    public static let s3 = SigV4ServiceRules(service: "s3", path: .asSent, sendsContentSHA256: true)
}
