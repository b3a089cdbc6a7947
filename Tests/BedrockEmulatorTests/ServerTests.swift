import BedrockWire
import EmulatorTestSupport
import Foundation
import NIOCore
import Testing

@testable import BedrockEmulator

/// Emulator over real sockets.
@Suite struct ServerTests {
    @Test("signed Converse gets a deterministic answer with service headers")
    func converse() async throws {
        try await withEmulator { emulator, client in
            let reply = try await client.send(
                "/model/\(claude.replacingOccurrences(of: ":", with: "%3A"))/converse",
                json: converseBody("Hello emulator"))
            #expect(reply.status == 200)
            #expect(reply.headers["x-amzn-requestid"]?.count == 36)
            let usage = try #require(reply.json?["usage"])
            #expect(
                usage["totalTokens"]?.intValue == (usage["inputTokens"]?.intValue ?? 0)
                    + (usage["outputTokens"]?.intValue ?? 0))
            #expect(
                reply.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains(
                    "Hello emulator") == true)
            #expect(emulator.requests.last?.operation == "Converse")
            #expect(emulator.requests.last?.principal == "test")
        }
    }

    @Test("validation errors carry x-amzn-ErrorType and a message body")
    func validation() async throws {
        try await withEmulator { _, client in
            let reply = try await client.send(
                "/model/\(claude)/converse", json: converseBody("hi", extra: ["inferenceConfig": ["maxTokens": 0]]))
            #expect(reply.status == 400)
            #expect(reply.errorType == "ValidationException")
            #expect(reply.json?["message"]?.stringValue?.contains("inferenceConfig.maxTokens") == true)
            let garbage = try await client.send("/model/\(claude)/converse", json: .string("not an object"))
            #expect(garbage.status == 400)
        }
    }

    @Test("authentication failures answer like AWS")
    func authentication() async throws {
        try await withEmulator { _, client in
            let unsigned = try await client.send("/model/\(claude)/converse", json: converseBody("hi"), sign: false)
            #expect(unsigned.status == 403)
            #expect(unsigned.errorType == "MissingAuthenticationTokenException")

            var stranger = client
            stranger.accessKeyID = "AKIDUNKNOWN0000000"
            let unknown = try await stranger.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(unknown.errorType == "UnrecognizedClientException")

            var wrongSecret = client
            wrongSecret.secret = "not-the-secret"
            let forged = try await wrongSecret.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(forged.status == 403)
            #expect(forged.errorType == "InvalidSignatureException")
            #expect(forged.json?["message"]?.stringValue?.contains("does not match") == true)

            let stale = try await client.send(
                "/model/\(claude)/converse", json: converseBody("hi"), at: Date().addingTimeInterval(-600))
            #expect(stale.errorType == "InvalidSignatureException")
            #expect(stale.json?["message"]?.stringValue?.contains("Signature expired") == true)

            var elsewhere = client
            elsewhere.region = "ap-south-1"
            let region = try await elsewhere.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(region.errorType == "InvalidSignatureException")

            var tampered = client
            tampered.region = "us-east-1"
            let ok = try await tampered.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(ok.status == 200)
        }
    }

    @Test("bearer tokens are accepted when configured and refused otherwise")
    func bearer() async throws {
        try await withEmulator({ $0.bearerTokens = ["bedrock-api-key-abc"] }) { _, client in
            let good = try await client.send(
                "/model/\(claude)/converse", json: converseBody("hi"), sign: false,
                headers: ["Authorization": "Bearer bedrock-api-key-abc"])
            #expect(good.status == 200)
            let bad = try await client.send(
                "/model/\(claude)/converse", json: converseBody("hi"), sign: false,
                headers: ["Authorization": "Bearer wrong"])
            #expect(bad.status == 403)
        }
    }

    @Test("fault rules from the Swift API hit the matching operation only")
    func faults() async throws {
        try await withEmulator { emulator, client in
            try emulator.addFault(
                FaultRule(operation: "Converse", times: 1, error: "ThrottlingException", retryAfterMs: 120))
            #expect(emulator.faults.count == 1)
            let count = try await client.send(
                "/model/\(claude)/count-tokens", json: ["input": ["converse": converseBody("hi")]])
            #expect(count.status == 200)
            #expect(count.json?["inputTokens"]?.intValue == 1)
            let throttled = try await client.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(throttled.status == 429)
            #expect(throttled.errorType == "ThrottlingException")
            #expect(throttled.headers["x-amz-retry-after"] == "120")
            #expect(emulator.faults.isEmpty)
            #expect(emulator.requests.last?.fault == "error")
            let after = try await client.send("/model/\(claude)/converse", json: converseBody("hi"))
            #expect(after.status == 200)
        }
    }

    @Test("quotas throttle per model and region within a minute")
    func quotas() async throws {
        try await withEmulator({ $0.quotas = [EmulatorQuota(model: claude, requestsPerMinute: 2)] }) { _, client in
            for _ in 0..<2 {
                #expect(try await client.send("/model/\(claude)/converse", json: converseBody("hi")).status == 200)
            }
            let third = try await client.send("/model/us.\(claude)/converse", json: converseBody("hi"))
            #expect(third.status == 429)
            #expect(third.errorType == "ThrottlingException")
            #expect(
                try await client.send("/model/amazon.nova-lite-v1:0/converse", json: converseBody("hi")).status == 200)
        }
    }

    @Test("ConverseStream frames decode with BedrockWire's decoder")
    func stream() async throws {
        try await withEmulator { _, client in
            let reply = try await client.send("/model/\(claude)/converse-stream", json: converseBody("Stream me"))
            #expect(reply.headers["content-type"] == "application/vnd.amazon.eventstream")
            var decoder = EventStreamDecoder()
            decoder.append(ByteBuffer(bytes: Array(reply.body)))
            var types: [String] = []
            while let message = try decoder.nextMessage() {
                if let type = message.headers.first(where: { $0.name == ":event-type" }) {
                    types.append("\(type.value)")
                }
            }
            #expect(types.first?.contains("messageStart") == true)
            #expect(types.last?.contains("metadata") == true)
            #expect(types.count > 4)
        }
    }

    @Test("admin API needs its token")
    func admin() async throws {
        try await withEmulator { emulator, client in
            let refused = try await client.send("/_quarry/faults", method: "GET", sign: true)
            #expect(refused.status == 403)
            let rule: JSONValue = ["operation": "Converse", "latency_ms": 5]
            let added = try await client.send(
                "/_quarry/faults", json: rule, sign: false, headers: ["x-quarry-admin-token": emulator.adminToken])
            #expect(added.status == 201)
            #expect(emulator.faults.first?.rule.latencyMs == 5)
            let bad = try await client.send(
                "/_quarry/faults", json: ["latency_ms": "slow"], sign: false,
                headers: ["x-quarry-admin-token": emulator.adminToken])
            #expect(bad.status == 400)
        }
    }

    @Test("an empty admin token is never the key: a random one replaces it")
    func emptyAdminToken() async throws {
        try await withEmulator({ $0.adminToken = "" }) { emulator, client in
            #expect(emulator.adminToken.count == 64)
            let empty = try await client.send(
                "/_quarry/faults", method: "GET", sign: false, headers: ["x-quarry-admin-token": ""])
            #expect(empty.status == 403)
            let right = try await client.send(
                "/_quarry/faults", method: "GET", sign: false,
                headers: ["x-quarry-admin-token": emulator.adminToken])
            #expect(right.status == 200)
        }
        #expect(BedrockEmulator(configuration: EmulatorConfiguration()).adminToken.count == 64)
    }

    @Test("admin tokens are compared by digest, whole")
    func adminTokenComparison() async throws {
        #expect(AdminAPI.tokensMatch("secret-token", "secret-token"))
        #expect(!AdminAPI.tokensMatch("secret-tokeN", "secret-token"))
        #expect(!AdminAPI.tokensMatch("secret-", "secret-token"))
        #expect(!AdminAPI.tokensMatch("secret-token-and-more", "secret-token"))
        #expect(!AdminAPI.tokensMatch("", ""))
        try await withEmulator({ $0.adminToken = "fixed-admin-token" }) { _, client in
            for wrong in ["fixed-admin-toke", "fixed-admin-tokens", "FIXED-ADMIN-TOKEN"] {
                let reply = try await client.send(
                    "/_quarry/faults", method: "GET", sign: false, headers: ["x-quarry-admin-token": wrong])
                #expect(reply.status == 403, "\(wrong)")
            }
        }
    }

    @Test("stop closes stalled connections and frees the port")
    func stopDuringStall() async throws {
        let (emulator, endpoint) = try await BedrockEmulator.started(.oneThread())
        try emulator.addFault(FaultRule(stall: true))
        let client = EmulatorHTTPClient(endpoint: endpoint)
        let pending = Task { try? await client.send("/model/\(claude)/converse", json: converseBody("hi")) }
        try await Task.sleep(for: .milliseconds(200))
        await emulator.stop()
        _ = await pending.value
        #expect(emulator.endpoint == nil)
    }
}
