import Foundation
import LuaSandbox
import Testing

/// The backstop judges the Lua thread by the jobs it runs, not by when a resumption
/// reaches it: a script resumed late (its host call's answer came after deadline +
/// grace) trips its deadline at once, and the sandbox stays usable.
@Suite struct BackstopTests {
    @Test("a resumption that reaches the Lua thread after deadline + grace is not taken for a stuck thread")
    func lateResumptionIsNotStuck() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installScheduling($0) }
        var limits = LuaLimits(seconds: 0.2)
        limits.graceSeconds = 0.2
        do {
            _ = try await sandbox.run("wait(1); return 'after'", limits: limits) { _ in
                // The answer comes 0.8 s after the deadline + grace have passed.
                try await Task.sleep(for: .milliseconds(1200))
                return .values([.integer(10)])
            }
            Issue.record("the run passed its deadline and returned")
        } catch LuaError.limit(let kind, let message) {
            #expect(kind != .unresponsive, "\(message)")
            #expect(kind == .deadline, "\(kind): \(message)")
        }
        #expect(sandbox.unusable == nil)
        #expect(try await sandbox.run("return 1 + 1") == [.integer(2)])
    }
}
