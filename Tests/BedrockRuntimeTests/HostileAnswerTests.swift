import BedrockWire
import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// What a lying or echoing server puts in fields other than the message (the audit of
/// issue 16's fixes): token counts that would overflow a sum, and tokens echoed in the
/// error code, the request id, the resource name, encoded forms and stream errors.
@Suite struct HostileAnswerTests {
    static let sessionToken = "sessTok/short.9183x"

    static func client(_ server: ScriptedHTTPServer) throws -> BedrockRuntimeClient {
        let credentials = SigV4Credentials(
            accessKeyId: "AKIAECHO000000001234", secretAccessKey: "echoSecret",
            sessionToken: Self.sessionToken)
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint(validating: server.endpoint),
            authorizer: SigV4Authorizer(region: "us-east-1", credentials: credentials), retry: .noRetries)
        return try BedrockRuntimeClient(configuration: configuration)
    }

    @Test("token counts past a trillion or below zero are a broken answer, not a number to add")
    func hugeUsageIsRefused() async throws {
        let answers = [
            #""usage":{"inputTokens":9223372036854775807,"outputTokens":9223372036854775807,"totalTokens":1}"#,
            #""usage":{"inputTokens":-100000,"outputTokens":5,"totalTokens":5}"#,
        ]
        let server = try await ScriptedHTTPServer.start { _, n in
            let body =
                #"{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn","#
                + answers[n % 2] + "}"
            return .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
        defer { Task { await server.shutdown() } }
        try await withClient(server, retry: .noRetries) { client in
            for _ in 0..<2 {
                let e = await bedrockError { _ = try await client.converse(helloRequest) }
                #expect(e?.kind == .invalidResponse, "\(String(describing: e))")
                #expect(e?.message.contains("outside 0...1000000000000") == true, "\(String(describing: e?.message))")
            }
        }
        // The ordinary answer still decodes.
        let usage = try JSONValueDecoder().decode(
            TokenUsage.self, from: try JSONParser.parse(#"{"inputTokens":3,"outputTokens":4,"totalTokens":7}"#))
        #expect(usage == TokenUsage(inputTokens: 3, outputTokens: 4, totalTokens: 7))
    }

    @Test("a token echoed in the error code, request id, resource name or an encoded form never reaches a caller")
    func tokensInOtherFields() async throws {
        let token = Self.sessionToken
        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token
        let base64 = Data(token.utf8).base64EncodedString()
        let hex = token.utf8.map { String(format: "%02x", $0) }.joined()
        let server = try await ScriptedHTTPServer.start { request, n in
            let sent = request.header("x-amz-security-token") ?? "?"
            let body = try? JSONSerialization.data(withJSONObject: [
                "message":
                    "seen \(encoded) and \(base64) and \(hex) and \(sent.replacingOccurrences(of: "/", with: "\\/"))",
                "resourceName": "arn:aws:bedrock:us-east-1::x/\(sent)",
            ])
            return .respond(
                status: 403,
                headers: [
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", n == 0 ? "Denied\(sent)" : sent),
                    ("x-amzn-RequestId", sent),
                ],
                body: Array(body ?? Data()))
        }
        defer { Task { await server.shutdown() } }
        let client = try Self.client(server)
        for _ in 0..<2 {
            let e = try #require(await bedrockError { _ = try await client.converse(helloRequest) })
            let everything = [
                e.code, e.message, e.requestId ?? "", e.resourceName ?? "", "\(e)",
                e.attempts.map { "\($0.errorCode ?? "") \($0.requestId ?? "") \($0.decision ?? "")" }.joined(),
            ]
            for field in everything {
                for form in [token, encoded, base64, hex, "sessTok"] {
                    #expect(!field.contains(form), "\(form) in \(field)")
                }
            }
            #expect(e.code == "UnknownError")
            #expect(e.requestId == nil)
        }
        try await client.shutdown()
        #expect(server.requests.count == 2)
    }

    @Test("a stream's exception message loses the tokens the request carried")
    func tokensInStreamExceptions() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            let sent = request.header("x-amz-security-token") ?? "?"
            let writer = EventStreamWriter()
            var bytes: [UInt8] = []
            for message in [
                EventStreamWriter.event("messageStart", payload: ByteBuffer(string: #"{"role":"assistant"}"#)),
                EventStreamWriter.exception(.modelStreamError, message: "model failed for token \(sent)"),
            ] {
                if let frame = try? writer.frame(message) { bytes += Array(frame.readableBytesView) }
            }
            return .stream(
                status: 200, headers: [("Content-Type", "application/vnd.amazon.eventstream")],
                parts: [(.zero, bytes)], ending: .complete)
        }
        defer { Task { await server.shutdown() } }
        let client = try Self.client(server)
        let e = await bedrockError { _ = try await client.converseStream(helloRequest).collect() }
        try await client.shutdown()
        let error = try #require(e)
        #expect(error.code == "ModelStreamErrorException")
        #expect(error.message == "model failed for token [redacted]", "\(error.message)")
    }
}
