import BedrockWire
import Foundation
import NIOHTTP1

/// Signs every attempt with SigV4 (BedrockWire's `SigV4Signer`), using credentials
/// fetched for each attempt so refreshed credentials are picked up.
public struct SigV4Authorizer: RequestAuthorizer {
    public let signer: SigV4Signer
    let credentials: @Sendable () async throws -> SigV4Credentials

    /// Signs for `region` with the credentials `credentials` returns.
    public init(region: String, credentials: @escaping @Sendable () async throws -> SigV4Credentials) {
        self.signer = SigV4Signer(region: region)
        self.credentials = credentials
    }

    /// Signs for `region` with credentials from `provider` (e.g. the default chain).
    public init(region: String, provider: any CredentialProvider) {
        self.init(region: region, credentials: { try await provider.credentials() })
    }

    /// Signs for `region` with fixed credentials.
    public init(region: String, credentials: SigV4Credentials) {
        self.init(region: region, credentials: { credentials })
    }

    public func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {
        _ = try await sign(&request, payload: .body(request.body), at: date)
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
                kind: .invalidRequest,
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
