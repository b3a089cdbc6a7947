import BedrockWire
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// Issue 16 row 12: a server that echoes what it was sent (AWS does, in
/// InvalidSignatureException) cannot get signing material into a `BedrockError`.
@Suite struct ServiceTextScrubbingTests {
    /// Short enough that no shape-based rule catches it: only the exact-value removal does.
    static let sessionToken = "shortSessTok-9183"

    static func body(_ message: String) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: ["message": message])) ?? Data())
    }

    @Test("an echoing server's messages lose tokens, signatures and dumps")
    func echoes() async throws {
        let server = try await ScriptedHTTPServer.start { request, n in
            let token = request.header("x-amz-security-token") ?? "?"
            let authorization = request.header("authorization") ?? "?"
            let message: String
            switch n {
            case 0:
                message =
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'POST\n/model/x/converse\n\ncontent-type:application/json\nhost:127.0.0.1\nx-amz-date:20261205T000000Z\nx-amz-security-token:\(token)\n\ncontent-type;host;x-amz-date;x-amz-security-token\n\(String(repeating: "ab", count: 32))'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261205T000000Z\n20261205/us-east-1/bedrock/aws4_request\n\(String(repeating: "cd", count: 32))'\n"
            case 1: message = "denied for session \(token) (retry with another)"
            case 2: message = "bad header Authorization: \(authorization)"
            default: message = "X-Amz-Security-Token=\(token)&X-Amz-Signature=\(String(repeating: "ef", count: 32))"
            }
            return .respond(
                status: 403,
                headers: [
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", "InvalidSignatureException"),
                ], body: Self.body(message))
        }
        defer { Task { await server.shutdown() } }
        let credentials = SigV4Credentials(
            accessKeyId: "AKIAECHO000000001234", secretAccessKey: "echoSecret",
            sessionToken: Self.sessionToken)
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint(validating: server.endpoint),
            authorizer: SigV4Authorizer(region: "us-east-1", credentials: credentials), retry: .noRetries)
        let client = try BedrockRuntimeClient(configuration: configuration)
        var messages: [String] = []
        for _ in 0..<4 {
            let e = await bedrockError { _ = try await client.converse(helloRequest) }
            let description = e.map { "\($0)" } ?? ""
            messages.append(e?.message ?? "no error")
            #expect(e?.code == "InvalidSignatureException")
            #expect(!description.contains(Self.sessionToken), "\(description)")
        }
        try await client.shutdown()
        #expect(server.requests.count == 4)
        #expect(messages[0].hasPrefix("The request signature we calculated does not match the signature you provided."))
        #expect(messages[1] == "denied for session [redacted] (retry with another)")
        #expect(messages[2] == "bad header Authorization: [redacted]")
        for message in messages {
            #expect(message.contains("[redacted]"), "\(message)")
            #expect(!message.contains(Self.sessionToken), "\(message)")
            #expect(!message.contains("Credential="), "\(message)")
            #expect(message.range(of: "[0-9a-f]{64}", options: .regularExpression) == nil, "\(message)")
            #expect(!message.contains("x-amz-security-token:"), "\(message)")
        }
    }

    /// Issue 21 audit: a server naming the whole access key id (AWS's own "The security
    /// token included in the request is invalid" variants do) reached scripts unmasked.
    @Test("a full access key id in a server's error message is masked to AKIA…WXYZ")
    func accessKeyIdsAreMasked() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(
                status: 403,
                headers: [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")],
                body: Self.body("User with key AKIACANARYKEY1234567 (and ASIAQWERTYUIOPASDFGH) is not authorized"))
        }
        defer { Task { await server.shutdown() } }
        let credentials = SigV4Credentials(accessKeyId: "AKIACANARYKEY1234567", secretAccessKey: "echoSecret")
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint(validating: server.endpoint),
            authorizer: SigV4Authorizer(region: "us-east-1", credentials: credentials), retry: .noRetries)
        let client = try BedrockRuntimeClient(configuration: configuration)
        let e = await bedrockError { _ = try await client.converse(helloRequest) }
        try await client.shutdown()
        let message = e?.message ?? "no error"
        #expect(message == "User with key AKIA…4567 (and ASIA…DFGH) is not authorized", "\(message)")
        #expect(!message.contains("AKIACANARYKEY1234567"), "\(message)")
        #expect(!message.contains("ASIAQWERTYUIOPASDFGH"), "\(message)")
        #expect(!"\(e.map { "\($0)" } ?? "")".contains("CANARYKEY"))
        // Shorter or longer runs are not key ids and stay as they are.
        #expect(ServiceTextScrubber.scrub("AKIA1234") == "AKIA1234")
        #expect(ServiceTextScrubber.scrub("id=ASIAQWERTYUIOPASDFGH.") == "id=ASIA…DFGH.")
    }

    @Test("ordinary service messages pass unchanged")
    func ordinary() {
        for text in [
            "Too many requests, please wait before trying again.",
            "The provided model identifier is invalid.",
            "Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again.",
            "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint",
        ] {
            #expect(ServiceTextScrubber.scrub(text) == text)
            #expect(BedrockError(kind: .service(.known(.validation)), message: text).message == text)
        }
    }

    /// Issue 21's second audit, finding 3: a sent token cut into pieces between spaces
    /// passed the whole-token check and the 100-character rule.
    @Test("pieces of a sent token with whitespace between them are removed")
    func tokenPieces() {
        let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "PIECEScanaryTOKEN0123456789abcdef"
        ServiceTextScrubber.remember(sentTokens: [token])
        let spaced = stride(from: 0, to: token.utf8.count, by: 20).map { start in
            String(decoding: Array(token.utf8)[start..<min(start + 20, token.utf8.count)], as: UTF8.self)
        }
        #expect(
            ServiceTextScrubber.scrub("job failed: " + spaced.joined(separator: " \n\t") + ". Retry.")
                == "job failed: [redacted]. Retry.")
        // One 16-byte piece on its own is enough.
        #expect(ServiceTextScrubber.scrub("see PIECEScanaryTOKEN0 here") == "see [redacted] here")
        // Text that shares under 16 bytes with the token is kept.
        #expect(ServiceTextScrubber.scrub("see PIECEScanaryTOK here") == "see PIECEScanaryTOK here")
    }
}
