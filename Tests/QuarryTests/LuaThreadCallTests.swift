import Foundation
import HTTPTestSupport
import LuaSandbox
import Testing

@testable import Quarry

/// A script's sequential calls run on its Lua thread (`LuaThread` as the run's task
/// executor). What must still hold, attacked through a hostile server on loopback and
/// real Lua: an answer whose decoding is heavy does not hold the run past its deadline,
/// concurrent coroutines' calls still overlap, and a run whose Lua thread is given up as
/// stuck still ends.
@Suite(.serialized) struct LuaThreadCallTests {
    static let model = "anthropic.claude-3-haiku-20240307-v1:0"

    /// A valid JSON answer of about `bytes` bytes made of `count` strings: the most
    /// decoding work a script's client accepts (its value bound is 200,000).
    static func heavyAnswer(bytes: Int, count: Int) -> [UInt8] {
        let item = "\"" + String(repeating: "x", count: max(1, bytes / count - 3)) + "\","
        var text = "{\"items\":["
        text.reserveCapacity(bytes + 64)
        for _ in 0..<count { text += item }
        text.removeLast()
        text += "]}"
        return Array(text.utf8)
    }

    static func timedRun(_ host: QuarryHost, _ source: String, seconds: Double) async -> (Double, String) {
        let start = ContinuousClock.now
        let outcome: String
        do {
            let settings = RunSettings(limits: LuaLimits(seconds: seconds))
            outcome = "ok \(try await host.evaluate(source, settings: settings))"
        } catch {
            outcome = "error \(error)"
        }
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, outcome)
    }

    @Test("a 15 MiB answer heavy to decode does not hold a 0.5 s run past its deadline")
    func heavyAnswerDoesNotHoldTheDeadline() async throws {
        let body = Self.heavyAnswer(bytes: 15 << 20, count: 95_000)
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
        defer { Task { await server.shutdown() } }
        var policy = HostPolicy()
        policy.limits.memoryBytes = 64 << 20
        let host = try await QuarryHost(
            target: QuarryTarget.emulator(url: server.endpoint, adminToken: "unused"), options: .init(policy: policy))
        let (elapsed, outcome) = await Self.timedRun(
            host,
            """
            local n = 0
            while true do
              local r = bedrock.invoke{model = '\(Self.model)', body = {}}
              n = n + #r.body
            end
            """, seconds: 0.5)
        await host.shutdown()
        #expect(outcome.contains("deadline"), "\(outcome)")
        // Decoded on the Lua thread, one answer held the run 0.07–0.6 s past its deadline
        // in a debug build; decoded on the pool, the run ends within 0.02 s of it.
        #expect(elapsed < 1.0, "the run came back after \(elapsed) s")
    }
}
