import BedrockBatch
import Foundation

/// Client settings a script may ask for with `bedrock.client{…}`.
public struct ClientSettings: Sendable, Hashable {
    /// The region (`us-west-2`); nil for the target's.
    public var region: String?
    /// The AWS profile; nil for the target's.
    public var profile: String?
    /// A custom endpoint URL; nil for the target's.
    public var endpoint: String?
    /// Retry mode (`standard`, `adaptive`, `legacy`); nil for the default.
    public var retryMode: RetryMode?
    /// Most attempts per call; nil for the default.
    public var maxAttempts: Int?
    /// A total timeout per call, in seconds; nil for none.
    public var timeoutSeconds: Double?

    /// Settings with everything left to the target.
    public init(
        region: String? = nil, profile: String? = nil, endpoint: String? = nil,
        retryMode: RetryMode? = nil, maxAttempts: Int? = nil, timeoutSeconds: Double? = nil
    ) {
        self.region = region
        self.profile = profile
        self.endpoint = endpoint
        self.retryMode = retryMode
        self.maxAttempts = maxAttempts
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Where Bedrock calls go: real AWS (resolved the AWS way) or an emulator (one a
/// `LocalEmulatorLauncher` started for this process, or one already running).
///
/// It makes the clients the host hands to scripts (through its `ClientFactory`), so
/// credentials stay here: scripts only ever hold handles. `TargetResolver` decides which
/// target `resolve` returns; `EmulatorAdminClient` talks to an emulator's admin API.
public final class QuarryTarget: Sendable {
    /// What kind of target this is.
    public enum Kind: Sendable, Hashable {
        /// Amazon Bedrock (or a custom endpoint) with AWS credentials.
        case aws
        /// A Bedrock emulator, accepting the `test`/`test` key pair.
        case emulator
    }

    /// How `resolve` chooses between AWS and the emulator.
    public enum Preference: String, Sendable {
        /// AWS when credentials are configured, else a local emulator.
        case automatic
        /// Always AWS (configuration errors are reported, never papered over).
        case aws
        /// Always a local emulator.
        case emulator
    }

    /// What kind of target this is.
    public let kind: Kind
    /// The region calls go to unless a client names another.
    public let region: String
    /// One line for banners and notices: where calls go and as whom (key id masked).
    public let description: String
    /// The emulator's admin API, when the target is an emulator.
    public let emulatorAdmin: EmulatorAdmin?
    /// Layers added to every client this target makes (e.g. client-side fault injection).
    public var middlewares: [any TransportMiddleware] { factory.middlewares }
    /// Whether the target is an emulator.
    public var isEmulator: Bool { kind == .emulator }
    /// The regions the target serves when it knows them (an emulator it launched); nil
    /// for AWS, whose regions only the service can tell.
    public var servedRegions: [String]? { launched?.regions }

    let factory: ClientFactory
    private let launched: LaunchedEmulator?
    /// The connection pools every client of this target shares.
    private let transports = SharedTransports()

    /// How many sets of HTTP connection pools the target's clients share now (one per
    /// distinct TLS/proxy/connect-timeout setting, however many hosts use the target).
    package var liveHTTPTransports: Int { transports.count }

    init(
        kind: Kind, region: String, description: String, emulatorAdmin: EmulatorAdmin?,
        factory: ClientFactory, launched: LaunchedEmulator? = nil
    ) {
        self.kind = kind
        self.region = region
        self.description = description
        self.emulatorAdmin = emulatorAdmin
        self.factory = factory
        self.launched = launched
    }

    /// Resolves the target the way the AWS SDKs resolve configuration. With
    /// `.automatic` (or `QUARRY_TARGET=auto`), when no credentials are configured (no
    /// keys, bearer token, profile, web identity or container credentials), it starts an
    /// emulator with `localEmulator` and targets it; without one it reports that no
    /// credentials are configured. The CLI passes `.inProcess` (`QuarryEmulatorSupport`).
    /// `regionSource` is what an error about `region` calls it (the CLI: `the --region flag`).
    public static func resolve(
        region: String? = nil, profile: String? = nil, endpoint: String? = nil,
        preference: Preference? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        middlewares: [any TransportMiddleware] = [],
        localEmulator: (any LocalEmulatorLauncher)? = nil,
        regionSource: String? = nil
    ) async throws -> QuarryTarget {
        try await TargetResolver(environment: environment, middlewares: middlewares, localEmulator: localEmulator)
            .resolve(
                region: region, profile: profile, endpoint: endpoint, preference: preference,
                regionSource: regionSource)
    }

    /// A target for an emulator that is already running (tests, `quarry emulator` elsewhere).
    public static func emulator(
        url: String, adminToken: String, region: String = "us-east-1",
        credentials: SigV4Credentials = SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"),
        caCertificatePath: String? = nil,
        middlewares: [any TransportMiddleware] = []
    ) -> QuarryTarget {
        TargetResolver(environment: [:], middlewares: middlewares, localEmulator: nil)
            .emulator(
                url: url, adminToken: adminToken, region: region, credentials: credentials,
                caCertificatePath: caCertificatePath)
    }

    /// An AWS target resolved from the environment, shared files and the given overrides.
    public static func aws(
        region: String? = nil, profile: String? = nil, endpoint: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        middlewares: [any TransportMiddleware] = []
    ) throws -> QuarryTarget {
        try TargetResolver(environment: environment, middlewares: middlewares, localEmulator: nil)
            .aws(region: region, profile: profile, endpoint: endpoint)
    }

    /// Whether AWS credentials of any kind are configured, judged without network calls
    /// (instance roles cannot be seen this way: set `QUARRY_TARGET=aws` on EC2).
    public static func credentialsConfigured(_ environment: [String: String]) -> Bool {
        TargetResolver.credentialsConfigured(environment)
    }

    /// The most a stream's accumulated result may hold in a host's clients (15 MiB:
    /// under the sandbox's 16 MiB string limit; real answers are far smaller).
    public static let maxStreamBytesForScripts = 15 << 20

    /// The JSON values a host's client parses from one answer: twice what one value
    /// crossing into a script may hold (100,000 table elements).
    public static let maxJSONValuesForScripts = LuaJSON.parseBound(maxItems: LuaConversionLimits().maxItems)

    /// The bytes a host's client may hold for all its calls in flight together, for a
    /// sandbox of `memoryBytes`: twice that, at least 32 MiB (one full body).
    public static func maxInFlightBytesForScripts(memoryBytes: Int) -> Int {
        let doubled = max(0, memoryBytes).multipliedReportingOverflow(by: 2)
        return max(32 << 20, doubled.overflow ? Int.max : doubled.partialValue)
    }

    /// A client for `settings`, with this target's credentials, endpoint and middlewares.
    /// `maxInFlightBytes` (the host passes `maxInFlightBytesForScripts`) caps the bytes
    /// all of the client's calls in flight hold together; nil keeps the client default.
    public func makeClient(_ settings: ClientSettings = ClientSettings(), maxInFlightBytes: Int? = nil) throws
        -> BedrockRuntimeClient
    {
        try factory.makeClient(settings, region: region, maxInFlightBytes: maxInFlightBytes, transports: transports)
    }

    /// This target with batch clients that upload in parts as `transfer` says (tests
    /// lower the threshold rather than write 8 MiB of records). Not for a launched emulator.
    func withBatchTransfer(_ transfer: S3TransferConfiguration) -> QuarryTarget {
        var changed = factory
        changed.batchTransfer = transfer
        return QuarryTarget(
            kind: kind, region: region, description: description, emulatorAdmin: emulatorAdmin, factory: changed)
    }

    /// A batch inference client (Bedrock's control plane and S3) with this target's
    /// credentials and endpoints; `maxInFlightBytes` as for `makeClient`.
    public func makeBatchClient(maxInFlightBytes: Int? = nil) throws -> BedrockBatchClient {
        try factory.makeBatchClient(region: region, maxInFlightBytes: maxInFlightBytes, transports: transports)
    }

    /// The models the target offers: the launched emulator's catalog, a running
    /// emulator's (from its admin API), or for AWS the well-known Bedrock model ids
    /// (listing needs the `bedrock` control-plane API, not the runtime).
    public func models() async throws -> [ModelSummary] {
        if let launched { return launched.models.map(ModelSummary.init) }
        if let admin = emulatorAdmin { return try await EmulatorAdminClient(admin).models() }
        return ModelCatalog.standard.models.map(ModelSummary.init)
    }

    /// Who calls go out as: at most a masked key id, where it came from and when it expires.
    public func identity(profile: String? = nil) async -> CallerIdentity {
        await factory.identity(region: region, profile: profile)
    }

    /// Who calls made with `client` go out as, read from that client's own (cached)
    /// credential provider: asking again costs nothing, however often a script asks
    /// (a `credential_process` or SSO exchange runs only when the cache needs it).
    public func identity(using client: BedrockRuntimeClient, profile: String? = nil) async -> CallerIdentity {
        await factory.identity(using: client, region: region, profile: profile)
    }

    /// The role ARN calls with `profile` assume, when the profile names one (for the
    /// audit log; not a secret).
    func roleArn(profile: String?) -> String? {
        factory.roleArn(region: region, profile: profile)
    }

    /// Closes the connection pools the target's clients share (call it after the last
    /// host's `shutdown()`) and stops the emulator this target launched, if any.
    public func shutdown() async {
        await transports.shutdown()
        await launched?.stop()
    }
}
