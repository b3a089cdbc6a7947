import Foundation

/// Everything about *where* requests go and *how* they are sent, resolved from code,
/// the environment and the shared config files in the AWS SDKs' order of
/// precedence: a value set in code wins over an environment variable, which wins
/// over the profile.
///
/// | setting | environment | profile key |
/// | --- | --- | --- |
/// | profile | `AWS_PROFILE`, `AWS_DEFAULT_PROFILE` | — |
/// | region | `AWS_REGION`, `AWS_DEFAULT_REGION` | `region` |
/// | endpoint | `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, then `[services]` `bedrock_runtime.endpoint_url`, then `AWS_ENDPOINT_URL`, then `endpoint_url` | `services`, `endpoint_url` |
/// | FIPS / dual-stack | `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT` | `use_fips_endpoint`, `use_dualstack_endpoint` |
/// | retries | `AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS` | `retry_mode`, `max_attempts` |
/// | bearer token | `AWS_BEARER_TOKEN_BEDROCK` | — |
/// | CA bundle | `AWS_CA_BUNDLE` | `ca_bundle` |
public struct BedrockConfiguration: Sendable {
    /// Values set in code; each wins over the environment and the files.
    public struct Overrides: Sendable {
        /// The profile to use.
        public var profile: String?
        /// The region.
        public var region: String?
        /// A custom endpoint URL.
        public var endpointURL: String?
        /// Use the FIPS endpoint.
        public var useFIPS: Bool?
        /// Use the dual-stack endpoint.
        public var useDualStack: Bool?
        /// Retry mode.
        public var retryMode: RetryMode?
        /// Total attempts per request (first try included).
        public var maxAttempts: Int?
        /// A Bedrock API key.
        public var bearerToken: BearerToken?
        /// A PEM file of extra trusted CAs.
        public var caBundlePath: String?
        /// Where `region` came from, as errors name it (`the --region flag`,
        /// `bedrock.client{region=}`); nil says "the configuration passed in code".
        public var regionSource: String? = nil

        /// No overrides.
        public init(
            profile: String? = nil, region: String? = nil, endpointURL: String? = nil, useFIPS: Bool? = nil,
            useDualStack: Bool? = nil, retryMode: RetryMode? = nil, maxAttempts: Int? = nil,
            bearerToken: BearerToken? = nil, caBundlePath: String? = nil
        ) {
            self.profile = profile
            self.region = region
            self.endpointURL = endpointURL
            self.useFIPS = useFIPS
            self.useDualStack = useDualStack
            self.retryMode = retryMode
            self.maxAttempts = maxAttempts
            self.bearerToken = bearerToken
            self.caBundlePath = caBundlePath
        }
    }

    /// The profile in use (`default` unless one was chosen).
    public let profileName: String
    /// The region, if any was configured (required unless a custom endpoint is set).
    public let region: AWSRegion?
    /// Where requests go.
    public let endpoint: BedrockEndpoint
    /// Whether `endpoint` came from a custom endpoint setting rather than the rules.
    public let isCustomEndpoint: Bool
    /// FIPS endpoint requested.
    public let useFIPS: Bool
    /// Dual-stack endpoint requested.
    public let useDualStack: Bool
    /// Retry mode (default `standard`).
    public let retryMode: RetryMode
    /// Attempts per request including the first (default 3).
    public let maxAttempts: Int
    /// Bearer token; when set, requests use it instead of SigV4 even if keys exist.
    public let bearerToken: BearerToken?
    /// Extra trusted CA certificates (PEM), checked to be readable.
    public let caBundlePath: String?
    /// The parsed shared files (for the credential providers).
    public let sharedFiles: SharedConfigFiles
    /// The environment it was resolved from (for the credential providers).
    public let environment: ConfigurationEnvironment

    /// The selected profile's section (empty when the profile is absent and was not
    /// asked for explicitly).
    public var profile: ConfigSection { sharedFiles.profiles[profileName] ?? ConfigSection() }

    /// Resolves the configuration; errors name the variable, file or profile at fault.
    public static func resolve(
        environment: ConfigurationEnvironment = .process,
        overrides: Overrides = Overrides()
    ) throws(ConfigurationError) -> BedrockConfiguration {
        let files = try SharedConfigFiles.load(from: environment)
        let explicitProfile = overrides.profile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"]
        let profileName = explicitProfile ?? "default"
        if explicitProfile != nil, files.profiles[profileName] == nil {
            throw .profileNotFound(profileName)
        }
        let profile = files.profiles[profileName] ?? ConfigSection()
        let profileSource = "profile '\(profileName)'"

        func setting(
            _ code: String?, _ variables: [String], _ key: String?,
            codeSource: String = "the configuration passed in code"
        ) -> (value: String, source: String)? {
            if let code { return (code, codeSource) }
            for variable in variables { if let value = environment[variable] { return (value, variable) } }
            if let key, let value = profile[key] { return (value, "\(profileSource) key '\(key)'") }
            return nil
        }
        func flag(_ code: Bool?, _ variable: String, _ key: String, name: String) throws(ConfigurationError) -> Bool {
            guard let (text, source) = setting(code.map { $0 ? "true" : "false" }, [variable], key) else {
                return false
            }
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default:
                throw .invalidValue(
                    setting: name, source: source, problem: "'\(ConfigNumber.shown(text))' is not true or false")
            }
        }

        var region: AWSRegion?
        if let (name, source) = setting(
            overrides.region, ["AWS_REGION", "AWS_DEFAULT_REGION"], "region",
            codeSource: overrides.regionSource ?? "the configuration passed in code")
        {
            guard AWSRegion.isValid(name) else {
                throw .invalidValue(
                    setting: "region", source: source, problem: ConfigurationError.regionProblem(name))
            }
            region = try AWSRegion(name)
        }

        let useFIPS = try flag(
            overrides.useFIPS, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", name: "use_fips_endpoint")
        let useDualStack = try flag(
            overrides.useDualStack, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint",
            name: "use_dualstack_endpoint")
        let customEndpoint = try customEndpoint(
            overrides: overrides, environment: environment, files: files,
            profile: profile, profileName: profileName)
        let endpoint: BedrockEndpoint
        do {
            endpoint = try BedrockEndpointResolver(
                region: region?.name, useFIPS: useFIPS, useDualStack: useDualStack,
                customEndpoint: customEndpoint
            ).resolve()
        } catch {
            throw .endpoint(error)
        }

        var retryMode = RetryMode.standard
        if let (text, source) = setting(overrides.retryMode?.rawValue, ["AWS_RETRY_MODE"], "retry_mode") {
            guard let mode = RetryMode(rawValue: text) else {
                throw .invalidValue(
                    setting: "retry_mode", source: source,
                    problem: "'\(ConfigNumber.shown(text))' is not one of legacy, standard, adaptive")
            }
            retryMode = mode
        }
        var maxAttempts = 3
        if let (text, source) = setting(overrides.maxAttempts.map(String.init), ["AWS_MAX_ATTEMPTS"], "max_attempts") {
            switch ConfigNumber.integer(text, range: 1...100) {
            case .success(let number): maxAttempts = number
            case .failure(let problem):
                throw .invalidValue(setting: "max_attempts", source: source, problem: problem.text)
            }
        }

        var bearerToken = overrides.bearerToken
        if bearerToken == nil, let text = environment["AWS_BEARER_TOKEN_BEDROCK"] {
            bearerToken = try BearerToken(text)
        }

        var caBundlePath: String?
        if let (path, source) = setting(overrides.caBundlePath, ["AWS_CA_BUNDLE"], "ca_bundle") {
            let expanded = environment.expandingTilde(path)
            guard FileManager.default.isReadableFile(atPath: expanded) else {
                throw .unreadableFile(path: expanded, purpose: "CA bundle (from \(source))")
            }
            caBundlePath = expanded
        }

        return BedrockConfiguration(
            profileName: profileName, region: region, endpoint: endpoint, isCustomEndpoint: customEndpoint != nil,
            useFIPS: useFIPS, useDualStack: useDualStack, retryMode: retryMode, maxAttempts: maxAttempts,
            bearerToken: bearerToken, caBundlePath: caBundlePath, sharedFiles: files, environment: environment)
    }

    /// botocore's order: code, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, the profile's
    /// `[services]` block, `AWS_ENDPOINT_URL`, the profile's `endpoint_url` — all but
    /// code skipped when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` / `ignore_configured_endpoint_urls` is true.
    static func customEndpoint(
        overrides: Overrides, environment: ConfigurationEnvironment, files: SharedConfigFiles,
        profile: ConfigSection, profileName: String, service: AWSServiceEndpoint = .bedrockRuntime
    ) throws(ConfigurationError) -> String? {
        if let url = overrides.endpointURL { return url }
        let ignore =
            (environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] ?? profile["ignore_configured_endpoint_urls"])?
            .lowercased() == "true"
        if ignore { return nil }
        if let url = environment[service.environmentVariable] { return url }
        if let servicesName = profile["services"] {
            guard let services = files.services[servicesName] else {
                throw .invalidValue(
                    setting: "services", source: "profile '\(profileName)'",
                    problem: "no [services \(servicesName)] section exists")
            }
            if let url = services.nested[service.servicesKey]?["endpoint_url"], !url.isEmpty { return url }
        }
        if let url = environment["AWS_ENDPOINT_URL"] { return url }
        return profile["endpoint_url"]
    }

    /// The endpoint of another AWS service for the same settings: its custom endpoint
    /// (`AWS_ENDPOINT_URL_<SERVICE>`, the profile's `[services]` block,
    /// `AWS_ENDPOINT_URL`, `endpoint_url`, in botocore's order) or its regional rules,
    /// with this configuration's region, FIPS and dual-stack flags. An endpoint set in
    /// code for Bedrock Runtime does not carry over to other services.
    public func endpoint(for service: AWSServiceEndpoint) throws(ConfigurationError) -> BedrockEndpoint {
        let custom = try Self.customEndpoint(
            overrides: Overrides(), environment: environment, files: sharedFiles, profile: profile,
            profileName: profileName, service: service)
        do {
            if let custom { return try BedrockEndpoint(validating: custom) }
            return try service.resolve(region: region?.name, useFIPS: useFIPS, useDualStack: useDualStack)
        } catch {
            throw .endpoint(error)
        }
    }
}

/// An AWS service whose endpoint the configuration can resolve: its endpoint variable,
/// `[services]` key and endpoint rules.
public struct AWSServiceEndpoint: Sendable, Hashable {
    /// The service-specific endpoint variable (`AWS_ENDPOINT_URL_BEDROCK`).
    public var environmentVariable: String
    /// The key in a `[services]` section (`bedrock`).
    public var servicesKey: String
    /// The endpoint prefix (`bedrock`, `s3`).
    public var endpointPrefix: String

    public init(environmentVariable: String, servicesKey: String, endpointPrefix: String) {
        self.environmentVariable = environmentVariable
        self.servicesKey = servicesKey
        self.endpointPrefix = endpointPrefix
    }

    /// Bedrock Runtime (`bedrock-runtime.{region}.{dnsSuffix}`).
    public static let bedrockRuntime = AWSServiceEndpoint(
        environmentVariable: "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", servicesKey: "bedrock_runtime",
        endpointPrefix: "bedrock-runtime")
    /// Bedrock's control plane (`bedrock.{region}.{dnsSuffix}`, FIPS `bedrock-fips.…`).
    public static let bedrock = AWSServiceEndpoint(
        environmentVariable: "AWS_ENDPOINT_URL_BEDROCK", servicesKey: "bedrock", endpointPrefix: "bedrock")
    /// S3 (`s3.{region}.{dnsSuffix}`, FIPS `s3-fips.…`, dual-stack `s3.dualstack.…`).
    public static let s3 = AWSServiceEndpoint(
        environmentVariable: "AWS_ENDPOINT_URL_S3", servicesKey: "s3", endpointPrefix: "s3")

    /// The endpoint the service's rules give for these settings (no custom endpoint).
    public func resolve(region: String?, useFIPS: Bool = false, useDualStack: Bool = false)
        throws(EndpointResolutionError) -> BedrockEndpoint
    {
        guard endpointPrefix == "s3", useDualStack else {
            return try BedrockEndpointResolver(
                region: region, useFIPS: useFIPS, useDualStack: useDualStack, endpointPrefix: endpointPrefix
            ).resolve()
        }
        // S3's dual-stack hosts put `dualstack` as a label of their own.
        guard let region, AWSRegion.isValid(region) else {
            throw .invalidConfiguration("Invalid Configuration: Missing Region")
        }
        let partition = AWSPartition.of(region: region)
        guard partition.supportsDualStack, !useFIPS || partition.supportsFIPS else {
            throw .invalidConfiguration("DualStack is enabled but this partition does not support DualStack")
        }
        return try BedrockEndpoint(
            validating: "https://s3\(useFIPS ? "-fips" : "").dualstack.\(region).\(partition.dnsSuffix)")
    }
}
