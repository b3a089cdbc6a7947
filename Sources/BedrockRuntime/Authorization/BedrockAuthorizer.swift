import BedrockWire
import Foundation

/// Decides how each request is authorised, as the AWS SDKs do for Bedrock: a bearer
/// token (`AWS_BEARER_TOKEN_BEDROCK` or set in code) wins even when keys exist;
/// otherwise SigV4 with credentials from the (cached) provider chain, signing name
/// `bedrock`, in the configured region.
public struct BedrockAuthorizer: Sendable {
    /// The bearer token, if any.
    public let bearerToken: BearerToken?
    /// Where SigV4 credentials come from (unused when a bearer token is set).
    public let credentials: any CredentialProvider
    /// The signing region.
    public let region: String

    /// An authorizer for a resolved configuration. With no provider given, the
    /// default chain is used, cached. A custom endpoint without a region signs for
    /// `us-east-1`, as botocore does for local endpoints.
    public init(configuration: BedrockConfiguration, credentials: (any CredentialProvider)? = nil) {
        bearerToken = configuration.bearerToken
        self.credentials =
            credentials ?? CachingCredentialProvider(CredentialProviderChain.default(configuration: configuration))
        region = configuration.region?.name ?? "us-east-1"
    }

    /// An authorizer from its parts.
    public init(bearerToken: BearerToken?, credentials: any CredentialProvider, region: String) {
        self.bearerToken = bearerToken
        self.credentials = credentials
        self.region = region
    }

    /// The authorisation for the next request; feeds `BotocoreRequestSigning.authorize`.
    public func authorization() async throws -> BotocoreRequestSigning.Authorization {
        if let bearerToken { return .bearer(token: bearerToken.value) }
        return .sigV4(try await credentials.credentials(), region: region)
    }
}

/// The former name of ``BedrockAuthorizer``, kept so code written against it still builds.
public typealias BedrockAuthenticator = BedrockAuthorizer
