import BedrockBatch
import Foundation

/// Makes a target's Bedrock clients, and says who they call as. Credentials, the
/// endpoint and the middlewares stay in here: scripts only ever hold handles.
struct ClientFactory: Sendable {
    /// Where calls go and with what credentials.
    enum Place: Sendable {
        /// AWS, resolved from the environment with these overrides.
        case aws(profile: String?, endpoint: String?)
        /// An emulator at `url` with its key pair (and its CA, when it serves TLS).
        case emulator(url: String, credentials: SigV4Credentials, caCertificatePath: String?)
    }

    let place: Place
    /// Layers added to every client (e.g. client-side fault injection), outermost first.
    let middlewares: [any TransportMiddleware]
    /// The environment AWS configuration is read from.
    let environment: [String: String]
    /// When batch clients upload in parts (botocore's defaults; tests lower the threshold).
    var batchTransfer: S3TransferConfiguration = .standard

    /// A client for `settings` in the target's `region` (see `QuarryTarget.makeClient`).
    func makeClient(
        _ settings: ClientSettings, region targetRegion: String,
        maxInFlightBytes: Int?, transports: SharedTransports
    ) throws -> BedrockRuntimeClient {
        var configuration: BedrockRuntimeClient.Configuration
        switch place {
        case .emulator(let url, let credentials, let caCertificatePath):
            let region = settings.region ?? targetRegion
            configuration = try BedrockRuntimeClient.Configuration(
                region: region, endpoint: try BedrockEndpoint(validating: settings.endpoint ?? url),
                authorizer: SigV4Authorizer(region: region, credentials: credentials),
                tls: TLSSettings(caBundlePath: caCertificatePath))
        case .aws(let profile, let endpoint):
            let resolved = try BedrockConfiguration.resolve(
                environment: ConfigurationEnvironment(environment),
                overrides: {
                    var overrides = BedrockConfiguration.Overrides(
                        profile: settings.profile ?? profile, region: settings.region ?? targetRegion,
                        endpointURL: settings.endpoint ?? endpoint)
                    overrides.regionSource =
                        settings.region != nil ? "bedrock.client{region=}" : "the target's region"
                    return overrides
                }())
            configuration = try BedrockRuntimeClient.Configuration(resolved: resolved)
        }
        if let mode = settings.retryMode { configuration.retry.mode = mode }
        if let attempts = settings.maxAttempts { configuration.retry.maxAttempts = max(1, attempts) }
        if let seconds = settings.timeoutSeconds { configuration.timeouts.total = .milliseconds(Int64(seconds * 1000)) }
        configuration.middlewares = middlewares + configuration.middlewares
        // A script can take at most a 16 MiB string: a stream's result stops below that,
        // with an error naming the client's cap, rather than failing later in conversion.
        configuration.limits.maxStreamBytes = min(
            configuration.limits.maxStreamBytes, QuarryTarget.maxStreamBytesForScripts)
        if let maxInFlightBytes { configuration.limits.maxInFlightBytes = max(0, maxInFlightBytes) }
        // A script takes at most 100,000 table elements from one answer: more values than
        // twice that are refused before parsing (a Converse answer just under the client's
        // million took 524 MB to parse and then could not reach the script anyway).
        configuration.limits.maxJSONValues = min(
            configuration.limits.maxJSONValues, QuarryTarget.maxJSONValuesForScripts)
        if configuration.transport == nil {
            // One set of connection pools per target, not per host (issue 24).
            configuration.transport = try transports.transport(
                tls: configuration.tls, proxy: configuration.proxy,
                connectTimeout: configuration.timeouts.connect)
        }
        return try BedrockRuntimeClient(configuration: configuration)
    }

    /// A batch client (Bedrock's control plane and S3) in `region`: on an emulator its
    /// one URL serves both, signed with its key pair; on AWS the endpoints follow
    /// `AWS_ENDPOINT_URL_BEDROCK` / `AWS_ENDPOINT_URL_S3`, then the target's custom
    /// endpoint (the CLI's `--endpoint`), then `AWS_ENDPOINT_URL`, or the regional rules.
    func makeBatchClient(region: String, maxInFlightBytes: Int?, transports: SharedTransports) throws
        -> BedrockBatchClient
    {
        var configuration: BedrockBatchClient.Configuration
        switch place {
        case .emulator(let url, let credentials, let caCertificatePath):
            let endpoint = try BedrockEndpoint(validating: url)
            let shared = try BedrockRuntimeClient.Configuration(
                region: region, endpoint: endpoint,
                authorizer: SigV4Authorizer(region: region, credentials: credentials),
                tls: TLSSettings(caBundlePath: caCertificatePath))
            configuration = try BedrockBatchClient.Configuration(
                shared: shared, controlEndpoint: endpoint, s3Endpoint: endpoint)
        case .aws(let profile, let endpoint):
            // A custom endpoint given for the target is where every service goes, as
            // `AWS_ENDPOINT_URL` is for the AWS SDKs: a service's own variable (or the
            // profile's `[services]` block) still wins for that service.
            var environment = self.environment
            if let endpoint { environment["AWS_ENDPOINT_URL"] = endpoint }
            let resolved = try BedrockConfiguration.resolve(
                environment: ConfigurationEnvironment(environment), overrides: .init(profile: profile, region: region))
            configuration = try BedrockBatchClient.Configuration(resolved: resolved)
        }
        configuration.shared.middlewares = middlewares + configuration.shared.middlewares
        configuration.transfer = batchTransfer
        if let maxInFlightBytes { configuration.shared.limits.maxInFlightBytes = max(0, maxInFlightBytes) }
        if configuration.shared.transport == nil {
            configuration.shared.transport = try transports.transport(
                tls: configuration.shared.tls, proxy: configuration.shared.proxy,
                connectTimeout: configuration.shared.timeouts.connect)
        }
        return try BedrockBatchClient(configuration: configuration)
    }

    /// Who calls in `region` with `profile` go out as, resolving credentials afresh.
    func identity(region: String, profile: String?) async -> CallerIdentity {
        switch place {
        case .emulator(_, let credentials, _):
            // The emulator's key pair is public (test/test); other configured pairs are masked.
            let id = credentials.accessKeyId
            return CallerIdentity(
                region: region, accessKeyId: id == "test" ? id : credentials.maskedAccessKeyId,
                source: "emulator")
        case .aws(let defaultProfile, _):
            var identity = CallerIdentity(region: region)
            do {
                let resolved = try BedrockConfiguration.resolve(
                    environment: ConfigurationEnvironment(environment),
                    overrides: .init(profile: profile ?? defaultProfile, region: region))
                if resolved.bearerToken != nil {
                    identity.source = "bearer-token"
                    return identity
                }
                let credentials = try await CredentialProviderChain.default(configuration: resolved).credentials()
                identity.accessKeyId = credentials.maskedAccessKeyId
                identity.source =
                    environment["AWS_ACCESS_KEY_ID"] != nil ? "environment" : "profile:\(resolved.profileName)"
                identity.expires = credentials.expiration
            } catch {
                identity.error = ScriptError.from(error).message
            }
            return identity
        }
    }

    /// Who calls made with `client` go out as, from that client's own cached provider.
    func identity(using client: BedrockRuntimeClient, region: String, profile: String?) async -> CallerIdentity {
        guard case .aws(let defaultProfile, _) = place,
            let authenticator = client.configuration.authorizer as? BedrockAuthenticator
        else {
            return await identity(region: region, profile: profile)
        }
        var identity = CallerIdentity(region: region)
        if authenticator.bearerToken != nil {
            identity.source = "bearer-token"
            return identity
        }
        do {
            let credentials = try await authenticator.credentials.credentials()
            identity.accessKeyId = credentials.maskedAccessKeyId
            let name =
                profile ?? defaultProfile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            identity.source = environment["AWS_ACCESS_KEY_ID"] != nil ? "environment" : "profile:\(name)"
            identity.expires = credentials.expiration
        } catch {
            identity.error = ScriptError.from(error).message
        }
        return identity
    }

    /// The role ARN calls with `profile` assume, when the profile names one.
    func roleArn(region: String, profile: String?) -> String? {
        guard case .aws(let defaultProfile, _) = place,
            let resolved = try? BedrockConfiguration.resolve(
                environment: ConfigurationEnvironment(environment),
                overrides: .init(profile: profile ?? defaultProfile, region: region))
        else { return nil }
        return resolved.profile["role_arn"]
    }
}
