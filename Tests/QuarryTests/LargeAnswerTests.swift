import BedrockRuntime
import Foundation
import HTTPTestSupport
import LuaSandbox
import Testing

@testable import Quarry

/// Answers of many tiny JSON values: their parsed tree would cost far more memory than
/// their bytes, outside the sandbox's memory cap, so scripts get them as text with a
/// reason, and a result that cannot cross is an error the script can catch.
@Suite struct LargeAnswerTests {
    /// A JSON array of `count` zeros.
    static func zeros(_ count: Int) -> [UInt8] {
        Array(("[" + Array(repeating: "0", count: count).joined(separator: ",") + "]").utf8)
    }

    static func host(answering body: [UInt8]) async throws -> (QuarryHost, ScriptedHTTPServer) {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(
                status: 200, headers: [("Content-Type", "application/json"), ("x-amzn-RequestId", "req-large")],
                body: body)
        }
        let host = try await QuarryHost(target: QuarryTarget.emulator(url: server.endpoint, adminToken: "unused"))
        return (host, server)
    }

    @Test(
        "an InvokeModel answer of more values than a script's value may hold comes as text with json_error; json.decode refuses it"
    )
    func invokeAnswerTooManyValues() async throws {
        let body = Self.zeros(250_000)
        let (host, server) = try await Self.host(answering: body)
        defer { Task { await server.shutdown() } }
        let r = try await host.evaluate(
            """
            local r = bedrock.invoke{model = 'anthropic.claude-3-haiku-20240307-v1:0', body = {}}
            local ok, e = pcall(json.decode, r.body)
            return {has_json = r.json ~= nil, json_error = r.json_error, length = #r.body,
                    decoded = ok, code = e.code, message = e.message}
            """, name: "=large"
        ).first
        await host.shutdown()
        guard case .map(let m)? = r else {
            Issue.record("unexpected result \(String(describing: r))")
            return
        }
        #expect(m["has_json"] == .boolean(false))
        #expect(m["json_error"]?.stringValue?.contains("more than 100000 JSON values") == true, "\(m)")
        #expect(m["length"] == .integer(Int64(body.count)))
        #expect(m["decoded"] == .boolean(false))
        #expect(m["code"] == .string("JSONError"))
        #expect(m["message"]?.stringValue?.contains("more than 200000 JSON values") == true, "\(m)")
    }

    @Test("an InvokeModel answer within the limit is parsed as before")
    func invokeAnswerWithinLimit() async throws {
        let (host, server) = try await Self.host(answering: Self.zeros(1_000))
        defer { Task { await server.shutdown() } }
        let r = try await host.evaluate(
            """
            local r = bedrock.invoke{model = 'anthropic.claude-3-haiku-20240307-v1:0', body = {}}
            return #r.json, r.json_error == nil
            """, name: "=small")
        await host.shutdown()
        #expect(r == [.integer(1_000), .boolean(true)])
    }

    @Test("a registered function's result past the element limit is an error pcall catches; the script goes on")
    func resultTooLargeIsCatchable() async throws {
        let host = try await QuarryHost(target: .emulator(url: "http://127.0.0.1:9", adminToken: "unused"))
        try await host.register("many") { _ in [.array(Array(repeating: .integer(1), count: 150_000))] }
        let r = try await host.evaluate(
            """
            local ok, e = pcall(many)
            return ok, tostring(e), 'went on'
            """, name: "=many")
        await host.shutdown()
        #expect(r.first == .boolean(false))
        #expect(r.dropFirst().first?.stringValue?.contains("more than 100000 table elements") == true, "\(r)")
        #expect(r.last == .string("went on"))
    }

    @Test("a script's own InvokeModel body is read for its token cap only within json.decode's bound")
    func scriptBodyParseIsBounded() {
        #expect(LuaJSON.parsedIfWithinParseBound(Self.zeros(250_000)) == nil)
        #expect(TokenEstimate.invoke(Data(Self.zeros(250_000))) > 0, "estimated from its bytes instead")
        let small = Data(#"{"max_tokens": 77, "messages": []}"#.utf8)
        #expect(BedrockBindings.invokeMaxTokens(small) == 77)
    }
}
