import BedrockRuntime
import BedrockWire
import EmulatorTestSupport
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import TestSupport
import Testing

@testable import BedrockEmulator

/// The emulator as a well-behaved local server against hostile local clients (issue 23,
/// rows 5–8): a web page POSTing `text/plain`, holders of the public `test` key,
/// half-sent requests, and a rebinding domain. Loopback only.
@Suite(.serialized) struct HostileClientTests {
    static let longModel = String(repeating: "m", count: 80_000)

    /// Row 5, through the real binary: 3,000 unauthenticated `text/plain` POSTs with
    /// 80 KB model ids leave the request log empty and the process small.
    @Test("unauthenticated requests are neither logged nor kept (bedrock-emulator RSS)")
    func unauthenticatedFloodIsNotLogged() throws {
        let emulator = try EmulatorProcess()
        defer { emulator.stop() }
        let before = try #require(residentBytes(of: emulator.pid))
        var connection = try RawConnection(port: emulator.port)
        var answered = 0
        for index in 0..<3000 {
            let request =
                "POST /model/\(Self.longModel)\(index)/converse HTTP/1.1\r\nHost: 127.0.0.1:\(emulator.port)\r\n"
                + "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
            if !connection.send(request) {
                connection = try RawConnection(port: emulator.port)
                connection.send(request)
            }
            if let reply = connection.readResponse() {
                answered += 1
                if index == 0 { #expect(reply.status == 403) }
            } else {
                connection = try RawConnection(port: emulator.port)
            }
        }
        #expect(answered > 2900)
        let after = try #require(residentBytes(of: emulator.pid))
        let admin = try RawConnection(port: emulator.port)
        admin.send(
            "GET /_quarry/requests HTTP/1.1\r\nHost: 127.0.0.1:\(emulator.port)\r\nx-quarry-admin-token: \(emulator.adminToken)\r\n\r\n"
        )
        let log = try #require(admin.readResponse())
        #expect(log.status == 200)
        let requests = (try JSONSerialization.jsonObject(with: Data(log.body)) as? [String: Any])?["requests"] as? [Any]
        #expect(requests?.count == 0, "nothing unauthenticated is recorded")
        // 3,000 × 80 KB recorded would be 240 MB; what is left is allocator noise.
        #expect(after - before < 48 * 1024 * 1024, "RSS grew by \((after - before) / 1024) KiB")
    }

    @Test("bedrock-emulator --tls writes its CA file 0600 and removes it on SIGTERM")
    func binaryRemovesCAFile() throws {
        let emulator = try EmulatorProcess(["--tls"])
        let ca = try #require(emulator.caFile)
        var info = stat()
        #expect(lstat(ca, &info) == 0 && info.st_mode & 0o777 == 0o600)
        emulator.stop()
        #expect(emulator.process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: ca))
    }

    @Test("logged fields are cut to 256 bytes and the log is bounded by count")
    func logIsTruncatedAndBounded() async throws {
        try await withEmulator({ $0.maxRecordedRequests = 20 }) { emulator, client in
            for index in 0..<25 {
                let reply = try await client.send(
                    "/model/\(String(repeating: "x", count: 4000))\(index)/converse", json: converseBody("hi"))
                #expect(reply.status == 400)
            }
            let log = emulator.requests
            #expect(log.count == 20)
            #expect(log.allSatisfy { ($0.model?.utf8.count ?? 0) <= RequestLog.maxFieldBytes })
            #expect(log.first?.model?.hasSuffix("…") == true)
        }
        let small = RequestLog(capacity: 1_000_000, byteCapacity: 64 * 1024)
        for index in 0..<10_000 {
            small.append(
                RecordedRequest(
                    requestID: "\(index)", time: Date(), model: String(repeating: "y", count: 10_000), status: 200))
        }
        #expect(small.usage.bytes <= 64 * 1024)
        #expect(small.usage.count < 10_000)
        #expect(small.all.last?.requestID == "9999")
    }

    /// Row 5/7: an unauthenticated head with a 25 MiB body is answered at once, its body
    /// not read past 64 KiB (the connection is closed instead).
    @Test("a refused head's body is not buffered")
    func refusedBodyIsNotBuffered() async throws {
        try await withEmulator { emulator, _ in
            let port = try #require(emulator.endpoint?.port)
            let connection = try RawConnection(port: port)
            connection.send(
                "POST /model/\(claude)/converse HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                    + "Content-Type: text/plain\r\nContent-Length: \(25 * 1024 * 1024)\r\n\r\n")
            connection.send([UInt8](repeating: 0x41, count: 256 * 1024))
            let reply = try #require(connection.readResponse(), "answered before the body ends")
            #expect(reply.status == 403)
            #expect(String(decoding: reply.body, as: UTF8.self).contains("Missing Authentication Token"))
            #expect(emulator.requests.isEmpty)
        }
    }

    /// Row 7: 400 clients that send half a request do not lock others out, and are
    /// closed after the idle timeout.
    @Test("half-sent requests: the health endpoint still answers; idle connections are closed")
    func slowClientsAreClosed() async throws {
        try await withEmulator({
            $0.idleTimeout = .seconds(1); $0.adminToken = "admin"
        }) { emulator, _ in
            let port = try #require(emulator.endpoint?.port)
            var slow: [RawConnection] = []
            for _ in 0..<400 {
                let connection = try RawConnection(port: port, receiveTimeout: 8)
                connection.send("POST /model/\(claude)/converse HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Le")
                slow.append(connection)
            }
            let health = try RawConnection(port: port, receiveTimeout: 8)
            health.send(
                "GET /_quarry/health HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nx-quarry-admin-token: admin\r\n\r\n")
            let reply = try #require(health.readResponse())
            #expect(reply.status == 200)
            var closed = 0
            for connection in slow {
                guard connection.read() == .closed else { break }  // one timeout is enough to fail (no 400 × 8 s)
                closed += 1
            }
            #expect(
                closed == 400,
                "every half-sent request's connection is closed (after the 1 s idle timeout or to make room)")
        }
    }

    @Test("at the connection cap the oldest idle connection makes room")
    func connectionCap() async throws {
        let limiter = ConnectionLimiter(maxConnections: 2)
        #expect(limiter.maxConnections == 2)
        try await withEmulator({
            $0.maxConnections = 3; $0.idleTimeout = .seconds(30)
        }) { emulator, client in
            let port = try #require(emulator.endpoint?.port)
            let idle = try (0..<5).map { _ in try RawConnection(port: port, receiveTimeout: 5) }
            // The two oldest idle connections made room for the newer ones.
            #expect(idle[0].read() == .closed)
            #expect(idle[1].read() == .closed)
            let reply = try await client.send("/model/\(claude)/converse", json: converseBody("still served"))
            #expect(reply.status == 200)
        }
    }

    /// Row 8: DNS rebinding — a signed request for `attacker.example:PORT` is refused.
    @Test("a Host that is not this emulator is refused before anything else")
    func foreignHostIsRefused() async throws {
        try await withEmulator { emulator, _ in
            let port = try #require(emulator.endpoint?.port)
            for host in ["attacker.example:\(port)", "127.0.0.1:\(port + 1)"] {
                let url = "http://\(host)/model/\(claude)/converse"
                let body = Array(converseBody("rebinding").serialized)
                let signed = try SigV4Signer(region: "us-east-1").sign(
                    SigV4Request(
                        method: "POST", url: url, headers: [("Content-Type", "application/json")], payload: .body(body)),
                    with: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"), at: Date())
                var head = "POST /model/\(claude)/converse HTTP/1.1\r\n"
                for (name, value) in signed.headers where name.lowercased() != "content-length" {
                    head += "\(name): \(value)\r\n"
                }
                if !signed.headers.contains(where: { $0.name.lowercased() == "host" }) { head += "Host: \(host)\r\n" }
                head += "Content-Length: \(body.count)\r\n\r\n"
                let connection = try RawConnection(port: port)
                connection.send(Array(head.utf8) + body)
                let reply = try #require(connection.readResponse())
                #expect(reply.status == 403)
                #expect(String(decoding: reply.body, as: UTF8.self).contains("Host header"))
            }
            #expect(emulator.requests.isEmpty)
        }
        let check = HostCheck(
            configuration: {
                var configuration = EmulatorConfiguration()
                configuration.allowedHosts = ["bedrock.test"]
                return configuration
            }())
        check.bound(to: 4000)
        for good in [
            "localhost:4000", "127.0.0.1:4000", "127.9.8.7:4000", "[::1]:4000", "LOCALHOST:4000", "bedrock.test:1",
            "bucket.localhost:4000", "bucket.s3.localhost:4000",
        ] {
            #expect(check.refusal([good]) == nil, "\(good)")
        }
        for bad in [
            "attacker.example:4000", "localhost:4001", "localhost", "10.0.0.1:4000", "[::2]:4000",
            "127.0.0.1.evil:4000", "", "bucket.localhost:4001", ".localhost:4000", "bucket.localhost.evil:4000",
            "a..localhost:4000",
        ] {
            #expect(check.refusal([bad]) != nil, "\(bad)")
        }
        #expect(check.refusal([]) != nil)
        #expect(check.refusal(["localhost:4000", "localhost:4000"]) != nil)
    }

    /// Row 6: the async-invoke store is bounded and keeps no huge output configs.
    @Test("async invokes: oversized outputDataConfig refused, store capped, oldest evicted")
    func asyncInvokeStoreIsBounded() async throws {
        try await withEmulator({ $0.maxAsyncInvokeJobs = 5 }) { _, client in
            let huge = String(repeating: "k", count: 2 * 1024 * 1024)
            for _ in 0..<40 {
                let reply = try await client.send(
                    "/async-invoke",
                    json: [
                        "modelId": "amazon.nova-reel-v1:1", "modelInput": ["x": 1],
                        "outputDataConfig": [
                            "s3OutputDataConfig": ["s3Uri": "s3://bucket/out", "kmsKeyId": .string(huge)]
                        ],
                    ])
                #expect(reply.status == 400)
                #expect(reply.errorType == "ValidationException")
            }
            var arns: [String] = []
            for index in 0..<8 {
                let reply = try await client.send(
                    "/async-invoke",
                    json: [
                        "modelId": "amazon.nova-reel-v1:1", "modelInput": ["x": .int(index)],
                        "clientRequestToken": .string("token-\(index)"),
                        "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": "s3://bucket/out"]],
                    ])
                #expect(reply.status == 200)
                arns.append(try #require(reply.json?["invocationArn"]?.stringValue))
            }
            #expect(Set(arns).count == 8)
            let list = try await client.send("/async-invoke", method: "GET")
            #expect(list.json?["asyncInvokeSummaries"]?.arrayValue?.count == 5)
            let first = try await client.send(
                "/async-invoke/\(arns[0].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")",
                method: "GET")
            #expect(first.status == 400, "the oldest job was evicted")
            let last = try await client.send(
                "/async-invoke/\(arns[7].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")",
                method: "GET")
            #expect(last.status == 200)
        }
        let store = AsyncInvokeStore(capacity: 1000)
        let model = try #require(ModelCatalog.standard.resolve(claude))
        for index in 0..<1500 {
            _ = try store.start(
                [
                    "modelInput": .int(index), "clientRequestToken": .string("t\(index)"),
                    "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": "s3://b/o"]],
                ], model: model, region: "us-east-1")
        }
        #expect(store.count == 1000)
    }
}

/// The audit's second pass (issue 23, rows 5–8): idle HTTP/2 connections and the
/// body bytes buffered across all connections.
extension HostileClientTests {
    /// Waits for the TLS handshake and records the protocol ALPN chose.
    final class ALPNRecorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let chosen: EventLoopPromise<String?>
        init(_ chosen: EventLoopPromise<String?>) { self.chosen = chosen }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted(let negotiated) = event { chosen.succeed(negotiated) }
            context.fireUserInboundEventTriggered(event)
        }
        func channelInactive(context: ChannelHandlerContext) {
            chosen.fail(ChannelError.ioOnClosedChannel)
            context.fireChannelInactive()
        }
    }

    /// `max_connections` TLS connections that pick `h2` and then send nothing (not even
    /// the preface) neither lock a real client out nor stay open past the idle timeout.
    @Test("idle TLS+h2 connections are evictable and closed after the idle timeout")
    func idleHTTP2ConnectionsAreEvictable() async throws {
        let (emulator, endpoint) = try await BedrockEmulator.started(
            .oneThread {
                $0.tls = true
                $0.maxConnections = 8
                $0.idleTimeout = .seconds(1)
            })
        let caPath = try #require(endpoint.caCertificatePath)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caPath)
        tls.certificateVerification = .noHostnameVerification
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var idle: [any Channel] = []
        do {
            for _ in 0..<8 {
                let chosen = group.next().makePromise(of: String?.self)
                let channel = try await ClientBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: context, serverHostname: nil))
                            try channel.pipeline.syncOperations.addHandler(ALPNRecorder(chosen))
                        }
                    }
                    .connect(host: "127.0.0.1", port: endpoint.port).get()
                #expect(try await chosen.futureResult.get() == "h2")
                idle.append(channel)
            }
            // A real client, one attempt, while all eight sit idle at the cap.
            let client = try BedrockRuntimeClient(
                configuration: .init(
                    region: "us-east-1", endpoint: try BedrockEndpoint(validating: endpoint.url),
                    authorizer: SigV4Authorizer(
                        region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")
                    ),
                    retry: .noRetries, timeouts: Timeouts(connect: .seconds(5), firstByte: .seconds(10)),
                    tls: TLSSettings(caBundlePath: caPath)))
            do {
                let answer = try await client.converse(
                    ConverseRequest(modelId: "amazon.nova-micro-v1:0", messages: [.user("hi")]))
                #expect(answer.requestId != nil)
            } catch {
                Issue.record("a real request at the cap failed: \(error)")
            }
            try await client.shutdown()
            // Every idle connection is closed (evicted, or after the 1 s idle timeout).
            for channel in idle {
                let closed = group.next().makePromise(of: Bool.self)
                channel.closeFuture.whenComplete { _ in closed.succeed(true) }
                group.next().scheduleTask(in: .seconds(5)) { closed.succeed(false) }
                #expect(try await closed.futureResult.get(), "an idle h2 connection is closed")
            }
        } catch {
            for channel in idle { try? await channel.close() }
            try? await group.shutdownGracefully()
            await emulator.stop()
            throw error
        }
        for channel in idle { try? await channel.close() }
        try await group.shutdownGracefully()
        await emulator.stop()
    }

    /// Connections that each send most of a signed body and stall cannot together
    /// buffer more than `maxBufferedBodyBytes`; bytes come back when a connection closes.
    @Test("body bytes buffered across connections are bounded; a closed connection frees its share")
    func bufferedBodiesAreBounded() async throws {
        try await withEmulator({
            $0.maxBufferedBodyBytes = 4 * 1024 * 1024; $0.idleTimeout = .seconds(30)
        }) { emulator, _ in
            let port = try #require(emulator.endpoint?.port)
            let body = Array(converseBody(String(repeating: "a", count: 3 * 1024 * 1024)).serialized)
            let url = "http://127.0.0.1:\(port)/model/\(claude)/converse"
            let signed = try SigV4Signer(region: "us-east-1").sign(
                SigV4Request(
                    method: "POST", url: url, headers: [("Content-Type", "application/json")], payload: .body(body)),
                with: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"), at: Date())
            var text = "POST /model/\(claude)/converse HTTP/1.1\r\n"
            for (name, value) in signed.headers where name.lowercased() != "content-length" {
                text += "\(name): \(value)\r\n"
            }
            if !signed.headers.contains(where: { $0.name.lowercased() == "host" }) {
                text += "Host: 127.0.0.1:\(port)\r\n"
            }
            text += "Content-Length: \(body.count)\r\n\r\n"
            let head = Array(text.utf8)
            // The first holds 3 MiB of its body and stalls.
            var first: RawConnection? = try RawConnection(port: port, receiveTimeout: 5)
            #expect(first?.send(head + body.prefix(3 * 1024 * 1024)) == true)
            try await Task.sleep(for: .milliseconds(300))
            // The second would take the total past 4 MiB: refused with 503, not buffered.
            let second = try RawConnection(port: port, receiveTimeout: 5)
            second.send(head + body.prefix(1536 * 1024))
            let refusal = try #require(second.readResponse(), "the second body is refused while it is still being sent")
            #expect(refusal.status == 503)
            #expect(refusal.headers.contains("ServiceUnavailableException"))
            #expect(String(decoding: refusal.body, as: UTF8.self).contains("max_buffered_body_bytes"))
            // Once the first connection closes its 3 MiB are free for a whole new request.
            first = nil
            var status = 0
            for _ in 0..<30 where status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                let third = try RawConnection(port: port, receiveTimeout: 10)
                third.send(head + body)
                status = third.readResponse()?.status ?? 0
            }
            #expect(status == 200)
        }
    }
}
