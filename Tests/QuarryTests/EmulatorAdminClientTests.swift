import BedrockEmulator
import EmulatorTestSupport
import Foundation
import Quarry
import Testing

/// The emulator admin client: its own HTTP client, trusting the emulator's CA when it
/// serves TLS, and failures thrown as errors that name the problem.
@Suite struct EmulatorAdminClientTests {
    static func count(_ value: LuaValue?) -> Int64 {
        if case .integer(let n)? = value { return n }
        return -1
    }

    static func tlsConfiguration() -> EmulatorConfiguration {
        var configuration = EmulatorConfiguration()
        configuration.tls = true
        return configuration
    }

    /// Admin calls to a TLS emulator trust its CA file, as the target's Bedrock clients
    /// do (a client on the system trust store fails the TLS handshake).
    @Test func adminCallsReachATLSEmulator() async throws {
        try await HostHarness.with(configuration: Self.tlsConfiguration()) { h in
            let admin = try #require(h.target.emulatorAdmin)
            #expect(admin.url.hasPrefix("https://"))
            #expect(admin.caCertificatePath != nil)
            let client = EmulatorAdminClient(admin)
            let faults = try await client.get("faults")
            #expect(faults["faults"]?.arrayValue != nil)
            let models = try await client.models()
            #expect(models.contains { $0.id == "amazon.nova-micro-v1:0" })
        }
    }

    /// The script-facing admin functions and `bedrock.models()` go through it too.
    @Test func emulatorModuleWorksOverTLS() async throws {
        try await HostHarness.with(configuration: Self.tlsConfiguration()) { h in
            try await h.host.install(EmulatorModule())
            let value = try await h.value(
                """
                local id = emulator.fault{operation = 'Converse', error = 'ThrottlingException'}
                local rules = emulator.faults()
                emulator.clear()
                return {id = id, rules = #rules, models = #bedrock.models(), after = #emulator.faults()}
                """)
            #expect(value["id"]?.stringValue?.isEmpty == false)
            #expect(value["rules"] == .integer(1))
            #expect(value["after"] == .integer(0))
            #expect(Self.count(value["models"]) > 0)
        }
    }

    /// An admin API that does not answer is an `EmulatorUnreachable` error, not nothing.
    @Test func unreachableAdminAPIIsAnError() async throws {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let client = EmulatorAdminClient(EmulatorAdmin(url: "http://127.0.0.1:1", token: "unused"))
        let error = await #expect(throws: ScriptError.self) { try await client.get("faults") }
        #expect(error?.code == .emulatorUnreachable)
        #expect(error?.message.contains("did not answer") == true)
    }

    /// An admin token the emulator does not know is refused with its error, not ignored.
    @Test func refusedAdminCallIsAnError() async throws {
        try await HostHarness.with { h in
            let admin = try #require(h.target.emulatorAdmin)
            let client = EmulatorAdminClient(EmulatorAdmin(url: admin.url, token: "wrong-token"))
            let error = await #expect(throws: ScriptError.self) { try await client.get("faults") }
            // The body names no `__type` (the type is in `x-amzn-ErrorType`): EmulatorError.
            #expect(error?.code == .emulatorError)
            #expect(error?.status == 403)
            #expect(error?.message.contains("admin token") == true)
            #expect(error?.message.contains("QUARRY_EMULATOR_ADMIN_TOKEN") == true, "\(error?.message ?? "")")
        }
    }
}

/// `QuarryTarget.resolve` starts a local emulator only through a launcher the app gives.
@Suite struct TargetResolverTests {
    /// A launcher an app could write itself: a `BedrockEmulator` in this process.
    struct TestLauncher: LocalEmulatorLauncher {
        func launch() async throws -> LaunchedEmulator {
            let emulator = BedrockEmulator(logger: BedrockEmulator.quietTestLogger)
            let started = try await emulator.start()
            return LaunchedEmulator(
                url: started.url, adminToken: emulator.adminToken, regions: started.regions,
                caCertificatePath: started.caCertificatePath, models: emulator.models,
                stop: { await emulator.stop() })
        }
    }

    @Test func withoutALauncherNoCredentialsIsAConfigurationError() async throws {
        let error = await #expect(throws: ScriptError.self) {
            _ = try await QuarryTarget.resolve(preference: .automatic, environment: ["HOME": "/nonexistent"])
        }
        #expect(error?.code == .configurationError)
        #expect(error?.message.contains("localEmulator") == true)
    }

    @Test func aLauncherStandsInForAWS() async throws {
        let target = try await QuarryTarget.resolve(
            environment: ["HOME": "/nonexistent"], localEmulator: TestLauncher())
        #expect(target.isEmulator)
        #expect(target.region == "us-east-1")
        let host = try await QuarryHost(target: target)
        let value = try await host.evaluate("return #bedrock.models(), bedrock.identity().source")
        #expect(EmulatorAdminClientTests.count(value.first) > 0)
        #expect(value.dropFirst().first == .string("emulator"))
        await host.shutdown()
        await target.shutdown()
    }
}
