import BedrockEmulator
import Logging

extension BedrockEmulator {
    /// A logger that shows only errors: the emulator's request lines would drown a
    /// test run's output.
    public static var quietTestLogger: Logger {
        var logger = Logger(label: "test.emulator")
        logger.logLevel = .error
        return logger
    }

    /// An emulator started on 127.0.0.1 (a free port) with `configuration`, and where
    /// it listens. The caller stops it.
    public static func started(
        _ configuration: EmulatorConfiguration = EmulatorConfiguration(),
        logger: Logger = quietTestLogger
    ) async throws -> (BedrockEmulator, EmulatorEndpoint) {
        let emulator = BedrockEmulator(configuration: configuration, logger: logger)
        return (emulator, try await emulator.start())
    }

    /// Runs `body` with a started emulator and always stops it.
    public static func withStarted<T>(
        _ configuration: EmulatorConfiguration = EmulatorConfiguration(),
        _ body: (BedrockEmulator, EmulatorEndpoint) async throws -> T
    ) async throws -> T {
        let (emulator, endpoint) = try await started(configuration)
        do {
            let result = try await body(emulator, endpoint)
            await emulator.stop()
            return result
        } catch {
            await emulator.stop()
            throw error
        }
    }
}

extension EmulatorConfiguration {
    /// A one-thread configuration (what most emulator tests need), changed by `configure`.
    public static func oneThread(_ configure: (inout EmulatorConfiguration) -> Void = { _ in }) -> EmulatorConfiguration
    {
        var configuration = EmulatorConfiguration()
        configuration.threads = 1
        configure(&configuration)
        return configuration
    }
}
