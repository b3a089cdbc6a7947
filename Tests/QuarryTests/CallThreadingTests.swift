import Foundation
import HTTPTestSupport
import Quarry
import Testing

/// Issue 22: where a run's waits run. A Bedrock call runs on an event loop of the
/// transport's group (where its connection lives: no hop to Swift's pool and back); a
/// registered function, which may block, and an audited call (a file lock, a sync)
/// run on Swift's pool, off the loop. Real emulator over loopback, real Lua.
@Suite struct CallThreadingTests {
    static let model = "anthropic.claude-3-haiku-20240307-v1:0"
    static let script = """
        where_am_i()
        return bedrock.converse{model = '\(model)', messages = 'hi', inference = {max_tokens = 5}}.text
        """

    /// Runs the script on a host over `fixture`'s emulator; returns whether the call's
    /// observer and the registered function each ran on one of the transport's loops.
    static func threads(_ fixture: AppFixture, audit: AuditLog? = nil) async throws -> (call: [Bool], function: [Bool])
    {
        var options = QuarryHost.Options(policy: .permissive, output: { _ in }, errorOutput: { _ in })
        options.audit = audit
        let host = try await QuarryHost(target: fixture.target, options: options)
        let call = LockedBox<[Bool]>([]), function = LockedBox<[Bool]>([])
        host.addCallObserver { _ in call.withLockedValue { $0.append(EventLoopTaskExecutor.current != nil) } }
        try await host.register("where_am_i") { _ in
            function.withLockedValue { $0.append(EventLoopTaskExecutor.current != nil) }
            return []
        }
        _ = try await host.evaluate(script)
        await host.shutdown()
        return (call.withLockedValue { $0 }, function.withLockedValue { $0 })
    }

    @Test func aBedrockCallRunsOnTheEventLoopAndARegisteredFunctionOnThePool() async throws {
        try await AppFixture.with { f in
            let seen = try await Self.threads(f)
            #expect(seen.call == [true])
            #expect(seen.function == [false])
        }
    }

    @Test func anAuditedCallRunsOnThePool() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-threads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await AppFixture.with { f in
            let seen = try await Self.threads(f, audit: AuditLog(file: dir.appendingPathComponent("audit.jsonl")))
            #expect(seen.call == [false])
            #expect(seen.function == [false])
        }
    }
}
