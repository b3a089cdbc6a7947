import BedrockEmulator
import BedrockRuntime
import EmulatorTestSupport
import Foundation
import Logging
import Quarry
import TestSupport

/// A real emulator on 127.0.0.1 and a host pointed at it: what every host test runs on.
struct HostHarness {
    let emulator: BedrockEmulator
    let target: QuarryTarget
    let host: QuarryHost
    let output: TextSink
    let errors: TextSink
    let logs: TextSink

    static func start(
        policy: HostPolicy = .permissive,
        configuration: EmulatorConfiguration = EmulatorConfiguration(),
        credentials: SigV4Credentials = SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"),
        region: String = "us-east-1",
        defaultModel: String? = nil, isolation: QuarryHost.Isolation = .perRun,
        middlewares: [any TransportMiddleware] = []
    ) async throws -> HostHarness {
        let (emulator, endpoint) = try await BedrockEmulator.started(configuration)
        let target = QuarryTarget.emulator(
            url: endpoint.url, adminToken: emulator.adminToken, region: region,
            credentials: credentials, caCertificatePath: endpoint.caCertificatePath,
            middlewares: middlewares)
        let output = TextSink(), errors = TextSink(), logs = TextSink()
        var options = QuarryHost.Options(
            policy: policy, output: output.write, errorOutput: errors.write,
            logger: CapturingLogHandler.logger("test.script", into: logs), defaultModel: defaultModel)
        options.isolation = isolation
        let host = try await QuarryHost(target: target, options: options)
        return HostHarness(emulator: emulator, target: target, host: host, output: output, errors: errors, logs: logs)
    }

    /// Evaluates `source` and returns its first value.
    @discardableResult
    func value(_ source: String) async throws -> LuaValue {
        try await host.evaluate(source, name: "=test").first ?? .nil
    }

    func stop() async {
        await host.shutdown()
        await target.shutdown()
        await emulator.stop()
    }

    /// Runs `body` with a fresh harness and always stops it.
    static func with<T>(
        policy: HostPolicy = .permissive, configuration: EmulatorConfiguration = EmulatorConfiguration(),
        defaultModel: String? = nil, isolation: QuarryHost.Isolation = .perRun,
        middlewares: [any TransportMiddleware] = [],
        _ body: (HostHarness) async throws -> T
    ) async throws -> T {
        let harness = try await start(
            policy: policy, configuration: configuration, defaultModel: defaultModel,
            isolation: isolation, middlewares: middlewares)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }
}

extension LuaValue {
    /// A field of a map value.
    func field(_ key: String) -> LuaValue { self[key] ?? .nil }
    var int: Int64? { if case .integer(let i) = self { i } else { nil } }
    var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }
}

/// The model most tests use.
let haiku = "anthropic.claude-3-haiku-20240307-v1:0"
let nova = "amazon.nova-micro-v1:0"
