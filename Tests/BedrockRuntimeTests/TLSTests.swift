import BedrockWire
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// The client over TLS: a server that does not speak TLS is a clear, final failure.
@Suite struct TLSTests {
    @Test("https to a server that does not speak TLS is a TLSFailure, not retried")
    func handshakeFailure() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint.parse("https://127.0.0.1:\(server.port)"),
            authorizer: UnsignedAuthorizer(), retry: fastRetry,
            // Generous: a handshake failure is immediate, and on a loaded CI machine a 2 s
            // connect timeout once ran out first (a retryable attempt before the TLS one).
            timeouts: Timeouts(connect: .seconds(30), firstByte: .seconds(60)))
        let client = try BedrockRuntimeClient(configuration: configuration)
        let error = await bedrockError { _ = try await client.converse(helloRequest) }
        try await client.shutdown()
        #expect(error?.kind == .transport(.tlsFailure), "got \(String(describing: error))")
        #expect(error?.isRetryable == false)
        #expect(error?.attempts.count == 1)
    }
}
