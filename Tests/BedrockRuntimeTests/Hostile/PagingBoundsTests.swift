import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// Paging is bounded.
@Suite struct PagingBoundsTests {
    @Test("listAsyncInvokesPages stops after 1,000 pages of ever-new tokens with a clear error")
    func endlessTokens() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            .json(200, #"{"asyncInvokeSummaries":[],"nextToken":"token-\#(n)"}"#)
        }
        defer { Task { await server.shutdown() } }
        let (pages, error) = try await withClient(server) { client -> (Int, BedrockError?) in
            var pages = 0
            let error = await bedrockError { for try await _ in client.listAsyncInvokesPages() { pages += 1 } }
            return (pages, error)
        }
        #expect(pages == BedrockRuntimeClient.maxListPages)
        #expect(error?.kind == .responseTooLarge)
        #expect(error?.message.contains("1000 pages") == true)
        #expect(server.requests.count == BedrockRuntimeClient.maxListPages)
    }
}
