import BedrockWire
import Foundation
import Logging
import NIOCore

/// A source of AWS credentials (environment, shared files, STS, SSO, container,
/// IMDS…). Each provider is a small type with one job; `CredentialProviderChain`
/// tries them in order and `CachingCredentialProvider` keeps the result fresh.
public protocol CredentialProvider: Sendable {
    /// A short name for errors and logs, e.g. `environment` or `profile 'dev'`.
    var name: String { get }

    /// Fetches credentials. Throws `CredentialsError.notConfigured` when this source
    /// has nothing to offer (the chain then tries the next one); any other
    /// `CredentialsError` means the source is configured but broken.
    func credentials() async throws -> SigV4Credentials
}

/// Why credentials could not be obtained. Messages name the provider, file, profile
/// or field and never contain a secret.
public enum CredentialsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The provider is not configured (e.g. no variables set): try the next one.
    case notConfigured(provider: String, reason: String)
    /// The provider is configured but its settings are wrong.
    case invalidConfiguration(provider: String, problem: String)
    /// The remote service refused or returned something unusable.
    case serviceError(provider: String, problem: String)
    /// The remote service could not be reached in time.
    case unreachable(provider: String, problem: String)
    /// No provider in the chain had credentials.
    case noCredentials(tried: [String])

    public var description: String {
        switch self {
        case .notConfigured(let provider, let reason): "\(provider): not configured (\(reason))"
        case .invalidConfiguration(let provider, let problem): "\(provider): \(problem)"
        case .serviceError(let provider, let problem): "\(provider): \(problem)"
        case .unreachable(let provider, let problem): "\(provider): cannot reach the credentials endpoint (\(problem))"
        case .noCredentials(let tried):
            "Unable to locate credentials (tried: \(tried.joined(separator: ", ")))"
        }
    }

    /// True for `notConfigured`: the chain moves on.
    public var isNotConfigured: Bool {
        if case .notConfigured = self { return true }
        return false
    }
}

/// Credentials fixed in code.
public struct StaticCredentialProvider: CredentialProvider {
    public let name = "static"
    private let value: SigV4Credentials

    /// Always returns `credentials`.
    public init(_ credentials: SigV4Credentials) { value = credentials }

    public func credentials() async throws -> SigV4Credentials { value }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`
/// (and `AWS_CREDENTIAL_EXPIRATION`).
public struct EnvironmentCredentialProvider: CredentialProvider {
    public let name = "environment"
    private let environment: ConfigurationEnvironment

    /// Reads from `environment`.
    public init(environment: ConfigurationEnvironment = .process) { self.environment = environment }

    public func credentials() async throws -> SigV4Credentials {
        let keyId = environment["AWS_ACCESS_KEY_ID"]
        let secret = environment["AWS_SECRET_ACCESS_KEY"]
        switch (keyId, secret) {
        case (nil, nil):
            throw CredentialsError.notConfigured(provider: name, reason: "AWS_ACCESS_KEY_ID is not set")
        case (_?, nil):
            throw CredentialsError.invalidConfiguration(
                provider: name,
                problem: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, _?):
            throw CredentialsError.invalidConfiguration(
                provider: name,
                problem: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (let keyId?, let secret?):
            var expiration: Date?
            if let text = environment["AWS_CREDENTIAL_EXPIRATION"] {
                guard let date = ISO8601Timestamp.parse(text) else {
                    throw CredentialsError.invalidConfiguration(
                        provider: name,
                        problem:
                            "AWS_CREDENTIAL_EXPIRATION (\(ConfigNumber.shownTimestamp(text))) is not an ISO-8601 time")
                }
                expiration = date
            }
            return SigV4Credentials(
                accessKeyId: keyId, secretAccessKey: secret,
                sessionToken: environment["AWS_SESSION_TOKEN"], expiration: expiration)
        }
    }
}

/// Tries providers in order; the first that is configured answers (a configured
/// but failing provider stops the chain with its error, as the AWS SDKs do).
public struct CredentialProviderChain: CredentialProvider {
    public let name = "chain"
    /// The providers, in order.
    public let providers: [any CredentialProvider]
    private let logger: Logger

    /// A chain of `providers`; which provider answered is logged at trace level
    /// (masked key id only).
    public init(_ providers: [any CredentialProvider], logger: Logger = Logger(label: "quarry.credentials")) {
        self.providers = providers
        self.logger = logger
    }

    /// The AWS SDKs' default chain for a resolved configuration: environment, the
    /// selected profile (static keys, process, assume role, web identity, SSO), web
    /// identity from the environment, container credentials, then EC2 IMDSv2.
    public static func `default`(
        configuration: BedrockConfiguration,
        endpoints: CredentialEndpoints = CredentialEndpoints(),
        logger: Logger = Logger(label: "quarry.credentials")
    ) -> CredentialProviderChain {
        var endpoints = endpoints
        if endpoints.network == nil {
            // A malformed proxy URL fails the Bedrock client's own setup with a clear error.
            endpoints.network = CredentialNetwork(
                tls: TLSSettings(caBundlePath: configuration.caBundlePath),
                proxy: try? ProxySettings.fromEnvironment(configuration.environment.variables))
        }
        return CredentialProviderChain(
            [
                EnvironmentCredentialProvider(environment: configuration.environment),
                ProfileCredentialProvider(
                    files: configuration.sharedFiles, profileName: configuration.profileName,
                    environment: configuration.environment, endpoints: endpoints),
                WebIdentityCredentialProvider(
                    environment: configuration.environment,
                    region: configuration.region?.name, endpoints: endpoints),
                ContainerCredentialProvider(environment: configuration.environment, endpoints: endpoints),
                IMDSCredentialProvider(environment: configuration.environment, endpoints: endpoints),
            ], logger: logger)
    }

    public func credentials() async throws -> SigV4Credentials {
        var tried: [String] = []
        for provider in providers {
            do {
                let credentials = try await provider.credentials()
                logger.trace(
                    "credentials found", metadata: ["provider": "\(provider.name)", "credentials": "\(credentials)"])
                return credentials
            } catch let error as CredentialsError where error.isNotConfigured {
                logger.trace(
                    "credential provider skipped", metadata: ["provider": "\(provider.name)", "reason": "\(error)"])
                tried.append(provider.name)
            }
        }
        throw CredentialsError.noCredentials(tried: tried)
    }
}

/// Where the network providers send their requests. The defaults are AWS's; tests
/// point them at local servers.
public struct CredentialEndpoints: Sendable {
    /// STS base URL for a region; default `https://sts.{region}.amazonaws.com`.
    public var sts: @Sendable (_ region: String) -> String
    /// SSO portal base URL for a region; default `https://portal.sso.{region}.amazonaws.com`.
    public var sso: @Sendable (_ region: String) -> String
    /// Base URL for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`; default `http://169.254.170.2`.
    public var containerRelativeBase: String
    /// Per-request timeout for STS, SSO and container calls (the whole exchange: head and body).
    public var timeout: TimeAmount
    /// TLS trust and proxy for these calls; the default chain fills them from the
    /// configuration (`AWS_CA_BUNDLE`, `HTTPS_PROXY`/`NO_PROXY`), as for Bedrock.
    public var network: CredentialNetwork?

    /// AWS's endpoints, or overrides.
    public init(
        sts: (@Sendable (String) -> String)? = nil, sso: (@Sendable (String) -> String)? = nil,
        containerRelativeBase: String = "http://169.254.170.2", timeout: TimeAmount = .seconds(10)
    ) {
        self.sts = sts ?? { region in "https://sts.\(region).\(AWSPartition.of(region: region).dnsSuffix)" }
        self.sso = sso ?? { region in "https://portal.sso.\(region).\(AWSPartition.of(region: region).dnsSuffix)" }
        self.containerRelativeBase = containerRelativeBase
        self.timeout = timeout
    }
}

/// ISO-8601 times as credential services write them (`2024-06-20T12:34:56Z`, with
/// or without fractional seconds or a numeric offset).
enum ISO8601Timestamp {
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
