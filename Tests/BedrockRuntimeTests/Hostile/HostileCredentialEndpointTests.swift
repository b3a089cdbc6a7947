import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// Hands out credentials only when released; counts calls. A stand-in for a
/// credential source that hangs.
actor GatedProvider: CredentialProvider {
    nonisolated let name = "gated"
    private var gate: [CheckedContinuation<Void, Never>] = []
    private var open = false
    private(set) var calls = 0
    let expiresIn: TimeInterval

    init(expiresIn: TimeInterval) { self.expiresIn = expiresIn }

    func credentials() async throws -> SigV4Credentials {
        calls += 1
        if !open { await withCheckedContinuation { gate.append($0) } }
        return SigV4Credentials(
            accessKeyId: "ASIAGATED\(calls)", secretAccessKey: "s", sessionToken: "t",
            expiration: Date().addingTimeInterval(expiresIn))
    }

    func release() {
        open = true
        for c in gate { c.resume() }
        gate = []
    }
}

/// Hostile credential endpoints: deadlines, no redirects, shared TLS and proxy.
@Suite struct HostileCredentialEndpointTests {
    /// A container-credentials endpoint that sends the head, then its body one byte every 20 s.
    static func dribblingServer() async throws -> ScriptedHTTPServer {
        let document =
            #"{"AccessKeyId":"ASIASLOW","SecretAccessKey":"slowSecret","Token":"t","Expiration":"2099-01-01T00:00:00Z"}"#
        return try await ScriptedHTTPServer.start { _, _ in
            .stream(
                status: 200, headers: [("Content-Type", "application/json")],
                parts: Array(document.utf8).map { (TimeAmount.seconds(20), [$0]) }, ending: .complete)
        }
    }

    @Test("a credential body sent one byte every 20 s ends at the provider's timeout (head and body)")
    func dribbledBodyTimesOut() async throws {
        let server = try await Self.dribblingServer()
        defer { Task { await server.shutdown() } }
        let provider = ContainerCredentialProvider(
            environment: ConfigurationEnvironment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/creds"]),
            endpoints: CredentialEndpoints(timeout: .seconds(2)))
        let outcome = await withinGuard(15) { await thrownError { _ = try await provider.credentials() } }
        let error = try #require(outcome, "the credential fetch did not end at its 2 s timeout")
        let text = "\(try #require(error))"
        #expect(text.contains("Timeout"))
        #expect(!text.contains("slowSecret"))
    }

    @Test("a call with a 3 s timeout ends with Timeout while signing waits on a dribbling credential endpoint")
    func callDeadlineCoversCredentialFetch() async throws {
        let credentials = try await Self.dribblingServer()
        defer { Task { await credentials.shutdown() } }
        let bedrock = try await ScriptedHTTPServer.start { _, _ in .json(200, converseAnswer) }
        defer { Task { await bedrock.shutdown() } }
        // The provider's own timeout is long: only the call's deadline can end this.
        let provider = CachingCredentialProvider(
            ContainerCredentialProvider(
                environment: ConfigurationEnvironment([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials.endpoint + "/creds"
                ]),
                endpoints: CredentialEndpoints(timeout: .seconds(120))))
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint.parse(bedrock.endpoint),
            authorizer: BedrockAuthorizer(bearerToken: nil, credentials: provider, region: "us-east-1"),
            retry: .noRetries)
        let client = try BedrockRuntimeClient(configuration: configuration)
        let outcome = await withinGuard(20) {
            await bedrockError {
                _ = try await client.converse(helloRequest, options: CallOptions(totalTimeout: .seconds(3)))
            }
        }
        try? await client.shutdown()
        let error = try #require(outcome, "the call outlived its 3 s total timeout")
        #expect(error?.kind == .transport(.totalTimeout))
        #expect(bedrock.requests.isEmpty)
    }

    @Test("a cancelled caller waiting for a credential refresh returns promptly")
    func cancelledWaiterReturns() async throws {
        let base = GatedProvider(expiresIn: 3600)
        let cache = CachingCredentialProvider(base)
        let waiter = Task { try await cache.credentials() }
        while await base.calls == 0 { try await Task.sleep(for: .milliseconds(10)) }
        waiter.cancel()
        let outcome = await withinGuard(10) { await thrownError { _ = try await waiter.value } }
        await base.release()
        let error = try #require(outcome, "the cancelled caller kept waiting for the refresh")
        #expect(error is CancellationError)
        // The shared fetch finished for later callers.
        #expect(try await cache.credentials().accessKeyId == "ASIAGATED1")
    }

    @Test("a hanging refresh does not block callers while the cached credentials are valid")
    func hangingRefreshDoesNotBlock() async throws {
        let clock = LockedBox(Date())
        let base = SwitchingProvider()
        let cache = CachingCredentialProvider(base, refreshAhead: 300) { clock.withLockedValue { $0 } }
        #expect(try await cache.credentials().accessKeyId == "ASIAFIRST")
        await base.hangFromNowOn()
        clock.withLockedValue { $0 += 3400 }  // 200 s left: inside the refresh window, still valid
        let outcome = await withinGuard(10) { await Result(catching: { try await cache.credentials().accessKeyId }) }
        let result = try #require(outcome, "a caller waited on the refresh although the cached credentials were valid")
        #expect(try result.get() == "ASIAFIRST")
        await base.releaseHang()
    }

    @Test("a 302 from the container endpoint to another origin is not followed")
    func containerRedirectNotFollowed() async throws {
        let other = try await ScriptedHTTPServer.start(host: "127.0.0.2") { _, _ in
            .text(body: #"{"AccessKeyId":"ASIASTOLEN","SecretAccessKey":"x","Token":"t"}"#)
        }
        defer { Task { await other.shutdown() } }
        let first = try await ScriptedHTTPServer.start { _, _ in
            .text(status: 302, headers: [("Location", other.endpoint + "/creds")])
        }
        defer { Task { await first.shutdown() } }
        let provider = ContainerCredentialProvider(
            environment: ConfigurationEnvironment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": first.endpoint + "/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer container-token",
            ]),
            endpoints: CredentialEndpoints(timeout: .seconds(5)))
        let error = await thrownError { _ = try await provider.credentials() }
        let text = "\(try #require(error))"
        #expect(text.contains("302"))
        #expect(text.contains("redirect"))
        #expect(first.requests.count == 1)
        #expect(other.requests.isEmpty)
    }

    @Test("AWS_CA_BUNDLE replaces the trust roots (the system roots are not added to)")
    func caBundleReplacesRoots() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-ca-\(UUID().uuidString).pem")
        try Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8).write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tls = try AsyncHTTPClientTransport.tlsConfiguration(TLSSettings(caBundlePath: dir.path))
        #expect(tls.trustRoots == .file(dir.path))
        #expect(tls.additionalTrustRoots.isEmpty)
        let plain = try AsyncHTTPClientTransport.tlsConfiguration(TLSSettings())
        #expect(plain.trustRoots == .default)
    }

    @Test("the default chain gives the credential providers the CA bundle and the proxy of the configuration")
    func chainSharesNetworkSettings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-ca-\(UUID().uuidString).pem")
        try Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8).write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let home = try TemporaryAWSDirectory()
        defer { home.remove() }
        let configuration = try BedrockConfiguration.resolve(
            environment: home.environment([
                "AWS_REGION": "us-east-1", "AWS_CA_BUNDLE": dir.path, "HTTPS_PROXY": "http://127.0.0.1:3128",
                "NO_PROXY": "::1",
            ]))
        let chain = CredentialProviderChain.default(configuration: configuration)
        let container = try #require(chain.providers.compactMap { $0 as? ContainerCredentialProvider }.first)
        let network = try #require(container.endpointsForTesting.network)
        #expect(network.tls.caBundlePath == dir.path)
        #expect(network.proxy?.port == 3128)
        #expect(network.proxy?.noProxy == ["::1"])
    }

    @Test("https credential requests go through HTTPS_PROXY unless NO_PROXY names the host; plain-http ones go direct")
    func credentialRequestsUseTheProxy() async throws {
        let proxy = try await RecordingProxy.start()
        defer { Task { await proxy.shutdown() } }
        let target = try await ScriptedHTTPServer.start { _, _ in
            .text(body: #"{"AccessKeyId":"ASIADIRECT","SecretAccessKey":"x","Token":"t"}"#)
        }
        defer { Task { await target.shutdown() } }
        func provider(scheme: String, noProxy: [String]) -> ContainerCredentialProvider {
            var endpoints = CredentialEndpoints(timeout: .seconds(5))
            endpoints.network = CredentialNetwork(
                proxy: ProxySettings(host: "127.0.0.1", port: proxy.port, noProxy: noProxy))
            return ContainerCredentialProvider(
                environment: ConfigurationEnvironment([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "\(scheme)://127.0.0.1:\(target.port)/creds"
                ]),
                endpoints: endpoints)
        }
        // https: the proxy is asked to CONNECT to the endpoint.
        _ = await thrownError { _ = try await provider(scheme: "https", noProxy: []).credentials() }
        #expect(proxy.requests.count == 1)
        #expect(proxy.requests.first?.contains("127.0.0.1:\(target.port)") == true)
        // https, named by NO_PROXY with its port: straight to the endpoint (which is not TLS: an error, but no proxy).
        _ = await thrownError {
            _ = try await provider(scheme: "https", noProxy: ["127.0.0.1:\(target.port)"]).credentials()
        }
        #expect(proxy.requests.count == 1)
        // plain http to loopback: direct, never through the proxy.
        let direct = try await provider(scheme: "http", noProxy: []).credentials()
        #expect(direct.accessKeyId == "ASIADIRECT")
        #expect(proxy.requests.count == 1)
    }
}

/// Answers once, then (after `hangFromNowOn`) hangs until released.
actor SwitchingProvider: CredentialProvider {
    nonisolated let name = "switching"
    private var hanging = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func credentials() async throws -> SigV4Credentials {
        if hanging { await withCheckedContinuation { waiting.append($0) } }
        return SigV4Credentials(
            accessKeyId: hanging ? "ASIASECOND" : "ASIAFIRST", secretAccessKey: "s", sessionToken: "t",
            expiration: Date().addingTimeInterval(3600))
    }

    func hangFromNowOn() { hanging = true }
    func releaseHang() {
        hanging = false
        for c in waiting { c.resume() }
        waiting = []
    }
}
