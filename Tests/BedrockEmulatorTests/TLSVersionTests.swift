import BedrockRuntime
import BedrockWire
import EmulatorTestSupport
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

@testable import BedrockEmulator

/// The transport's TLS claims, against real TLS servers on 127.0.0.1: TLS 1.2 is the
/// floor (a server that offers only TLS 1.0/1.1 is refused with an error naming TLS),
/// and TLS 1.3 is negotiated whenever the server offers it.
@Suite(.serialized) struct TLSVersionTests {
    /// The versions the server's handshakes negotiated.
    final class Negotiated: @unchecked Sendable {
        private let lock = NSLock()
        private var versions: [TLSVersion] = []
        func add(_ v: TLSVersion) { lock.lock(); versions.append(v); lock.unlock() }
        var all: [TLSVersion] { lock.lock(); defer { lock.unlock() }; return versions }
    }

    /// Records each completed handshake's version, then closes (no HTTP is needed).
    final class HandshakeRecorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let negotiated: Negotiated
        init(_ negotiated: Negotiated) { self.negotiated = negotiated }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event {
                if let version = try? context.pipeline.syncOperations.nioSSL_tlsVersion() { negotiated.add(version) }
                context.close(promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// A TLS server on 127.0.0.1 that speaks only `minimum`…`maximum`, with a throwaway CA.
    struct Server {
        let group: MultiThreadedEventLoopGroup
        let channel: any Channel
        let port: Int
        let caPath: String
        let negotiated: Negotiated

        static func start(minimum: TLSVersion, maximum: TLSVersion?) async throws -> Server {
            let certificate = try SelfSignedCertificate.generate(hosts: ["localhost", "127.0.0.1"])
            let caPath = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tls-test-ca-\(UUID().uuidString).pem"
            ).path
            try certificate.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(certificate.serverCertificate)],
                privateKey: .privateKey(certificate.serverKey))
            configuration.minimumTLSVersion = minimum
            configuration.maximumTLSVersion = maximum
            let context = try NIOSSLContext(configuration: configuration)
            let negotiated = Negotiated()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let channel = try await ServerBootstrap(group: group)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                        try child.pipeline.syncOperations.addHandler(HandshakeRecorder(negotiated))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let port = try #require(channel.localAddress?.port)
            return Server(group: group, channel: channel, port: port, caPath: caPath, negotiated: negotiated)
        }

        func stop() async {
            try? await channel.close()
            try? await group.shutdownGracefully()
        }
    }

    /// One Converse call through the real client (one attempt), returning its error.
    static func call(port: Int, caPath: String) async throws -> BedrockError? {
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint(validating: "https://127.0.0.1:\(port)"),
            authorizer: UnsignedAuthorizer(), retry: .noRetries,
            timeouts: Timeouts(connect: .seconds(5), firstByte: .seconds(10)), tls: TLSSettings(caBundlePath: caPath))
        let client = try BedrockRuntimeClient(configuration: configuration)
        var failure: BedrockError?
        do {
            _ = try await client.converse(ConverseRequest(modelId: "amazon.nova-micro-v1:0", messages: [.user("hi")]))
        } catch let error as BedrockError {
            failure = error
        }
        try await client.shutdown()
        return failure
    }

    @Test func aServerOfferingOnlyTLS10And11IsRefusedWithAnErrorNamingTLS() async throws {
        let server = try await Server.start(minimum: .tlsv1, maximum: .tlsv11)
        let error = try await Self.call(port: server.port, caPath: server.caPath)
        await server.stop()
        let failure = try #require(error)
        #expect(failure.kind == .transport(.tlsFailure), "got \(failure)")
        #expect(failure.message.contains("TLS"), "got \(failure.message)")
        #expect(failure.isRetryable == false)
        // No handshake completed: nothing was sent over TLS 1.0 or 1.1.
        #expect(server.negotiated.all.isEmpty)
    }

    @Test func theClientNegotiatesTLS13WhenTheServerOffersIt() async throws {
        // The server offers TLS 1.2 and 1.3; the client must pick 1.3.
        let server = try await Server.start(minimum: .tlsv12, maximum: .tlsv13)
        _ = try await Self.call(port: server.port, caPath: server.caPath)
        await server.stop()
        #expect(server.negotiated.all == [.tlsv13])
    }

    @Test func theClientStillSpeaksTLS12ToAServerThatStopsThere() async throws {
        let server = try await Server.start(minimum: .tlsv12, maximum: .tlsv12)
        _ = try await Self.call(port: server.port, caPath: server.caPath)
        await server.stop()
        #expect(server.negotiated.all == [.tlsv12])
    }

    @Test func theEmulatorWithTLSOffersTLS13() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tls = true
        let (emulator, endpoint) = try await BedrockEmulator.started(configuration)
        let caPath = try #require(endpoint.caCertificatePath)
        // A client that accepts nothing below TLS 1.3 completes its handshake.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv13
        tls.trustRoots = .file(caPath)
        tls.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: tls)
        let negotiated = Negotiated()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(HandshakeRecorder(negotiated))
                }
            }
            .connect(host: "127.0.0.1", port: endpoint.port).get()
        try await channel.closeFuture.get()
        try await group.shutdownGracefully()
        // And the real client works over it.
        let client = try BedrockRuntimeClient(
            configuration: .init(
                region: "us-east-1", endpoint: try BedrockEndpoint(validating: endpoint.url),
                authorizer: SigV4Authorizer(
                    region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")),
                tls: TLSSettings(caBundlePath: caPath)))
        let answer = try await client.converse(
            ConverseRequest(modelId: "amazon.nova-micro-v1:0", messages: [.user("hi")]))
        try await client.shutdown()
        await emulator.stop()
        #expect(negotiated.all == [.tlsv13])
        #expect(answer.requestId != nil)
    }
}
