/// Starts a local Bedrock emulator for a target with no AWS credentials.
///
/// `Quarry` itself links no HTTP server: an app that wants the offline fallback passes a
/// launcher to `QuarryTarget.resolve(localEmulator:)`, such as `.inProcess` from the
/// `QuarryEmulatorSupport` library (which the `quarry` CLI links).
public protocol LocalEmulatorLauncher: Sendable {
    /// Starts an emulator on loopback and says where it listens.
    func launch() async throws -> LaunchedEmulator
}

/// An emulator a `LocalEmulatorLauncher` started: where it is, how to stop it.
public struct LaunchedEmulator: Sendable {
    /// The base URL (`http://127.0.0.1:PORT`).
    public var url: String
    /// The admin API's token (never a Bedrock credential).
    public var adminToken: String
    /// The regions it serves, the default first.
    public var regions: [String]
    /// Its CA certificate, when it serves TLS.
    public var caCertificatePath: String?
    /// The models it serves, for `bedrock.models()`.
    public var models: [ModelDescriptor]
    /// Stops it.
    public var stop: @Sendable () async -> Void

    /// An emulator at `url` with `adminToken`.
    public init(
        url: String, adminToken: String, regions: [String], caCertificatePath: String? = nil,
        models: [ModelDescriptor], stop: @escaping @Sendable () async -> Void
    ) {
        self.url = url
        self.adminToken = adminToken
        self.regions = regions
        self.caCertificatePath = caCertificatePath
        self.models = models
        self.stop = stop
    }
}
