import Foundation
import NIOCore
import Testing

@testable import BedrockRuntime

/// Configuration values.
@Suite struct ConfigurationValueTests {
    @Test("endpoint URLs are parsed, and bad ones named")
    func endpoints() throws {
        let e = try BedrockEndpoint.parse("http://127.0.0.1:8080/prefix/")
        #expect(e.hostHeader == "127.0.0.1:8080")
        #expect(e.basePath == "/prefix")
        #expect(try BedrockEndpoint.regional("cn-north-1").host == "bedrock-runtime.cn-north-1.amazonaws.com.cn")
        #expect(throws: BedrockError.self) { try BedrockEndpoint.parse("ftp://x") }
        #expect(throws: BedrockError.self) { try BedrockEndpoint.parse("not a url") }
    }

    @Test("HTTPS_PROXY and NO_PROXY are read; proxy credentials never appear in descriptions")
    func proxy() throws {
        let p = try #require(
            try ProxySettings.fromEnvironment([
                "HTTPS_PROXY": "http://user:s3cret@proxy.local:3128",
                "NO_PROXY": "localhost, .internal.example,127.0.0.1",
            ]))
        #expect(p.host == "proxy.local")
        #expect(p.port == 3128)
        #expect(p.bypasses(host: "api.internal.example"))
        #expect(p.bypasses(host: "127.0.0.1"))
        #expect(!p.bypasses(host: "bedrock-runtime.us-east-1.amazonaws.com"))
        #expect(!"\(p)".contains("s3cret"))
        #expect(try ProxySettings.fromEnvironment([:]) == nil)
        #expect(throws: BedrockError.self) { try ProxySettings(url: "socks5://proxy:1080") }
    }

    @Test("a CA bundle without certificates is a clear error")
    func caBundleWithoutCertificates() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-not-a-ca-\(UUID().uuidString).pem"
        ).path
        try Data("just text\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try AsyncHTTPClientTransport(tls: TLSSettings(caBundlePath: path))
            Issue.record("accepted a CA bundle with no certificate")
        } catch let e as BedrockError {
            #expect(e.message.contains(path) && e.message.contains("no PEM certificate"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("an unreadable CA bundle is a clear error")
    func caBundle() {
        do {
            _ = try AsyncHTTPClientTransport(tls: TLSSettings(caBundlePath: "/nonexistent/ca.pem"))
            Issue.record("accepted a missing CA bundle")
        } catch let e as BedrockError {
            #expect(e.message.contains("/nonexistent/ca.pem"))
            #expect(e.message.contains("AWS_CA_BUNDLE"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
