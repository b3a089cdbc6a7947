import BedrockRuntime
import BedrockWire
import Foundation
import HTTPTestSupport
import LuaSandbox
import NIOCore
import Testing

@testable import Quarry

/// Host clients: calls in flight share a budget sized from the sandbox's memory.
@Suite struct HostInFlightBudgetTests {
    @Test("twice the sandbox's memory, at least 32 MiB")
    func sizing() {
        #expect(QuarryTarget.maxInFlightBytesForScripts(memoryBytes: 16 << 20) == 32 << 20)
        #expect(QuarryTarget.maxInFlightBytesForScripts(memoryBytes: 64 << 20) == 128 << 20)
        #expect(QuarryTarget.maxInFlightBytesForScripts(memoryBytes: Int.max) == Int.max)
    }

    @Test("under a 16 MiB sandbox, a second call declaring 20 MiB fails with ResponseTooLarge naming maxInFlightBytes")
    func hostCallsShareBudget() async throws {
        // Each answer declares a 20 MiB body (under the 32 MiB body cap), sends 1 MiB, then the connection is cut.
        let server = try await ScriptedHTTPServer.start { _, _ in
            .stream(
                status: 200, headers: [("Content-Type", "application/json"), ("Content-Length", String(20 << 20))],
                parts: [(.zero, Array(repeating: UInt8(ascii: " "), count: 1 << 20))], ending: .reset)
        }
        defer { Task { await server.shutdown() } }
        var policy = HostPolicy()
        policy.limits.memoryBytes = 16 << 20
        let host = try await QuarryHost(
            target: QuarryTarget.emulator(url: server.endpoint, adminToken: "unused"),
            options: .init(policy: policy))
        let r =
            try await host.evaluate(
                """
                local function call()
                  local ok, e = pcall(bedrock.invoke, {model = 'anthropic.claude-3-haiku-20240307-v1:0', body = {}})
                  return ok and 'ok' or (e.code .. ': ' .. tostring(e.message))
                end
                return {parallel(call, call)}
                """, name: "=budget"
            ).first ?? .nil
        await host.shutdown()
        guard case let .array(outcomes) = r else {
            Issue.record("unexpected result \(r)")
            return
        }
        let messages = outcomes.compactMap(\.stringValue)
        #expect(messages.count == 2, "\(messages)")
        let tooLarge = messages.filter { $0.hasPrefix("ResponseTooLarge") }
        #expect(tooLarge.count == 1, "\(messages)")
        #expect(tooLarge.first?.contains("maxInFlightBytes") == true, "\(messages)")
        #expect(tooLarge.first?.contains("32 MiB") == true, "\(messages)")
    }
}
