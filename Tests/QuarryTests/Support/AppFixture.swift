import BedrockEmulator
import EmulatorTestSupport
import Quarry

/// An emulator on 127.0.0.1 (the stand-in for AWS) and a target on it, as an app sees
/// them: the embedding suites reach Quarry only through its public API.
struct AppFixture: Sendable {
    let emulator: BedrockEmulator
    let target: QuarryTarget

    /// Runs `body` with a started emulator and a target on it; always shuts the target
    /// down, then stops the emulator.
    static func with<T>(
        _ configuration: EmulatorConfiguration = EmulatorConfiguration(),
        _ body: (AppFixture) async throws -> T
    ) async throws -> T {
        try await BedrockEmulator.withStarted(configuration) { emulator, endpoint in
            let target = QuarryTarget.emulator(
                url: endpoint.url, adminToken: emulator.adminToken,
                caCertificatePath: endpoint.caCertificatePath)
            do {
                let result = try await body(AppFixture(emulator: emulator, target: target))
                await target.shutdown()
                return result
            } catch {
                await target.shutdown()
                throw error
            }
        }
    }
}
