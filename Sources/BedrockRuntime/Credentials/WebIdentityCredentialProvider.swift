import BedrockWire
import Foundation

/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`):
/// exchanges the OIDC token in the file for role credentials with STS
/// `AssumeRoleWithWebIdentity`. The file is re-read on every call (it rotates).
public struct WebIdentityCredentialProvider: CredentialProvider {
    public let name: String
    private let tokenFile: String?
    private let roleArn: String?
    private let sessionName: String
    private let region: String
    private let endpoints: CredentialEndpoints

    /// From the environment variables.
    public init(
        environment: ConfigurationEnvironment, region: String?, endpoints: CredentialEndpoints = CredentialEndpoints()
    ) {
        self.init(
            tokenFile: environment["AWS_WEB_IDENTITY_TOKEN_FILE"], roleArn: environment["AWS_ROLE_ARN"],
            sessionName: environment["AWS_ROLE_SESSION_NAME"], region: region, endpoints: endpoints,
            name: "web identity (environment)")
    }

    /// From explicit settings (a profile's `web_identity_token_file` / `role_arn`).
    public init(
        tokenFile: String?, roleArn: String?, sessionName: String?, region: String?,
        endpoints: CredentialEndpoints = CredentialEndpoints(), name: String
    ) {
        self.tokenFile = tokenFile
        self.roleArn = roleArn
        self.sessionName = sessionName ?? "quarry-session-\(Int(Date().timeIntervalSince1970))"
        self.region = region ?? "us-east-1"
        self.endpoints = endpoints
        self.name = name
    }

    public func credentials() async throws -> SigV4Credentials {
        guard let tokenFile else {
            throw CredentialsError.notConfigured(provider: name, reason: "no web identity token file")
        }
        guard let roleArn else {
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "a web identity token file is set but no role ARN")
        }
        guard let data = FileManager.default.contents(atPath: tokenFile),
            let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !token.isEmpty
        else {
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "cannot read a token from '\(tokenFile)'")
        }
        return try await STSClient(region: region, endpoints: endpoints)
            .assumeRoleWithWebIdentity(
                roleArn: roleArn, sessionName: sessionName, webIdentityToken: token, provider: name)
    }
}
