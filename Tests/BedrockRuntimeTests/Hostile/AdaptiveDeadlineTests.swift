import BedrockWire
import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// Adaptive retry: the rate limiter's wait is inside the total timeout.
@Suite struct AdaptiveDeadlineTests {
    @Test("calls that would wait past their total deadline for the limiter fail with TotalTimeout at once")
    func limiterWaitBounded() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .serviceError("ThrottlingException", status: 429, message: "slow down")
        }
        defer { Task { await server.shutdown() } }
        var adaptive = RetryConfiguration.noRetries
        adaptive.mode = .adaptive
        let retry = adaptive
        let outcome = await withinGuard(15) {
            await Result(catching: {
                try await withClient(server, retry: retry) { client -> [String] in
                    var codes: [String] = []
                    // Each throttled call lowers the limiter's rate (0.5 requests/s at least):
                    // waiting for a token would take seconds, more with each call.
                    for _ in 0..<10 {
                        let e = await bedrockError {
                            _ = try await client.converse(
                                helloRequest, options: CallOptions(totalTimeout: .milliseconds(800)))
                        }
                        codes.append(e?.code ?? "none")
                    }
                    return codes
                }
            })
        }
        let codes = try #require(outcome, "calls waited for the rate limiter past their total timeout").get()
        // Some calls are sent and throttled; those whose limiter wait would pass their
        // deadline fail at once with TotalTimeout instead of sleeping first.
        #expect(codes.contains("ThrottlingException"), "\(codes)")
        #expect(codes.contains("TotalTimeout"), "\(codes)")
        #expect(!codes.contains("none"), "\(codes)")
    }
}
