import BedrockEmulator
import Logging
import Quarry

/// Starts a `BedrockEmulator` in this process, on 127.0.0.1, for a target with no AWS
/// credentials: the offline fallback of `QuarryTarget.resolve(localEmulator: .inProcess)`.
///
/// A library of its own so that an app embedding `Quarry` links an HTTP server and X.509
/// only when it asks to; the `quarry` CLI and the ExampleHost do.
public struct InProcessEmulator: LocalEmulatorLauncher {
    /// How the emulator is set up (the default: plain HTTP on a free loopback port).
    public var configuration: EmulatorConfiguration
    /// Where the emulator logs (warnings and worse by default).
    public var logger: Logger

    /// An emulator launcher with `configuration`, logging to `logger`.
    public init(configuration: EmulatorConfiguration = EmulatorConfiguration(), logger: Logger? = nil) {
        self.configuration = configuration
        self.logger =
            logger
            ?? {
                var quiet = Logger(label: "quarry.emulator")
                quiet.logLevel = .warning
                return quiet
            }()
    }

    /// Starts the emulator and says where it listens.
    public func launch() async throws -> LaunchedEmulator {
        let emulator = BedrockEmulator(configuration: configuration, logger: logger)
        let started = try await emulator.start()
        return LaunchedEmulator(
            url: started.url, adminToken: emulator.adminToken, regions: started.regions,
            caCertificatePath: started.caCertificatePath, models: emulator.models,
            stop: { await emulator.stop() })
    }
}

extension LocalEmulatorLauncher where Self == InProcessEmulator {
    /// A `BedrockEmulator` in this process with the default configuration.
    public static var inProcess: InProcessEmulator { InProcessEmulator() }
}
