import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// NO_PROXY entries are parsed, not cut at the first ':'.
@Suite struct NoProxyTests {
    @Test(
        "the matcher",
        arguments: [
            // (entry, host, port, bypass?)
            ("::1", "::1", 443, true),
            ("::1", "[::1]", 443, true),
            ("::1", "1", 443, false),
            ("::1", "10.0.0.1", 443, false),
            ("::1", "host.1", 443, false),
            ("[::1]", "::1", 8080, true),
            ("[::1]", "[::1]", 8080, true),
            ("[::1]:8080", "[::1]", 8080, true),
            ("[::1]:8080", "[::1]", 8081, false),
            ("0:0:0:0:0:0:0:1", "[::1]", 80, true),
            ("fd00::/8", "[fd12::5]", 80, true),
            ("fd00::/8", "[fe80::1]", 80, false),
            ("localhost:8080", "localhost", 8080, true),
            ("localhost:8080", "localhost", 443, false),
            ("127.0.0.1:9000", "127.0.0.1", 9000, true),
            ("127.0.0.1:9000", "127.0.0.1", 9001, false),
            ("127.0.0.1", "127.0.0.1", 1234, true),
            ("127.0.0.0/8", "127.0.0.2", 80, true),
            ("127.0.0.0/8", "128.0.0.1", 80, false),
            ("10.0.0.0/255", "10.0.0.1", 80, false),
            (".example.com", "api.example.com", 443, true),
            (".example.com", "example.com", 443, true),
            (".example.com", "badexample.com", 443, false),
            ("*.example.com", "a.b.example.com", 443, true),
            ("example.com", "sub.example.com", 443, true),
            ("EXAMPLE.com", "example.COM", 443, true),
            ("*", "anything.at.all", 1, true),
            ("", "localhost", 80, false),
            ("host:notaport", "host", 80, false),
            ("1", "127.0.0.1", 80, false),
            ("1", "1", 80, true),
        ] as [(String, String, Int, Bool)])
    func matcher(entry: String, host: String, port: Int, bypass: Bool) {
        let proxy = ProxySettings(host: "127.0.0.1", port: 3128, noProxy: [entry])
        #expect(proxy.bypasses(host: host, port: port) == bypass, "NO_PROXY=\(entry) host \(host) port \(port)")
    }

    @Test("NO_PROXY from the environment keeps IPv6 entries whole")
    func fromEnvironment() throws {
        let p = try #require(
            try ProxySettings.fromEnvironment([
                "HTTPS_PROXY": "http://127.0.0.1:3128",
                "NO_PROXY": "::1, [::1]:8443 ,example.com:444",
            ]))
        #expect(p.noProxy == ["::1", "[::1]:8443", "example.com:444"])
        #expect(!p.bypasses(host: "10.0.0.1", port: 443))
        #expect(p.bypasses(host: "[::1]", port: 443))
        #expect(p.bypasses(host: "example.com", port: 444))
        #expect(!p.bypasses(host: "example.com", port: 443))
    }

    @Test("end to end: the proxy sees a request unless NO_PROXY matches host and port")
    func endToEnd() async throws {
        let proxy = try await RecordingProxy.start()
        defer { Task { await proxy.shutdown() } }
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        func call(noProxy: [String]) async -> BedrockError? {
            do {
                let configuration = try BedrockRuntimeClient.Configuration(
                    region: "us-east-1", endpoint: try BedrockEndpoint.parse(server.endpoint),
                    authorizer: UnsignedAuthorizer(),
                    retry: .noRetries, proxy: ProxySettings(host: "127.0.0.1", port: proxy.port, noProxy: noProxy))
                let client = try BedrockRuntimeClient(configuration: configuration)
                let error = await bedrockError { _ = try await client.converse(helloRequest) }
                try? await client.shutdown()
                return error
            } catch {
                return error as? BedrockError
            }
        }
        // `127.0.0.1:<other port>` does not match: the proxy sees it.
        _ = await call(noProxy: ["127.0.0.1:\(server.port + 1)", "1"])
        #expect(proxy.requests.count == 1)
        #expect(server.requests.isEmpty)
        // The right port matches: direct.
        #expect(await call(noProxy: ["127.0.0.1:\(server.port)"]) == nil)
        #expect(proxy.requests.count == 1)
        #expect(server.requests.count == 1)
    }
}
