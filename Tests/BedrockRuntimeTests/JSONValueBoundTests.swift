import BedrockWire
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// Answers of many tiny JSON values are not parsed past `ResponseLimits.maxJSONValues`:
/// a parsed value costs far more memory than its bytes (the attacker audit of
/// 2026-12-06 took a process to 2 GB with a Converse answer of 2.5 million empty text
/// blocks, and to 886 MB with a streamed tool input of 13 MiB of `1,`).
@Suite struct JSONValueBoundTests {
    @Test("a Converse answer of more values than maxJSONValues is ResponseTooLarge naming the setting")
    func converseAnswerPastTheBound() async throws {
        let blocks = Array(repeating: #"{"text":""}"#, count: 3_000).joined(separator: ",")
        let body =
            #"{"output":{"message":{"role":"assistant","content":["# + blocks
            + #"]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}"#
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
        defer { Task { await server.shutdown() } }
        var limits = ResponseLimits.default
        limits.maxJSONValues = 5_000
        try await withClient(server, retry: .noRetries, limits: limits) { client in
            let e = await bedrockError { _ = try await client.converse(helloRequest) }
            #expect(e?.kind == .responseTooLarge, "\(String(describing: e))")
            #expect(e?.message.contains("more than 5000 JSON values (ResponseLimits.maxJSONValues)") == true)
            #expect(e?.httpStatus == 200)
        }
        // The same answer within the bound is read.
        try await withClient(server, retry: .noRetries) { client in
            let r = try await client.converse(helloRequest)
            #expect(r.output.message?.content.count == 3_000)
        }
    }

    @Test("a streamed tool input past the bound stays text, marked malformed, and is not parsed")
    func streamedToolInputPastTheBound() throws {
        func event(_ type: String, _ payload: String) throws -> ConverseStreamEvent {
            try ConverseStreamEvent.decode(eventType: type, payload: try JSONParser.parse(Array(payload.utf8)))
        }
        var acc = ConverseStreamAccumulator()
        let start = #"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}}"#
        acc.add(try event("contentBlockStart", start))
        let input = "[" + String(repeating: "1,", count: ResponseLimits.defaultMaxJSONValues) + "1]"
        let delta = JSONValue.object([
            ("contentBlockIndex", .integer(0)), ("delta", .object([("toolUse", .object([("input", .string(input))]))])),
        ])
        acc.add(try ConverseStreamEvent.decode(eventType: "contentBlockDelta", payload: delta))
        let result = acc.current
        #expect(result.malformedToolInputs["t1"]?.count == input.utf8.count)
        guard case .toolUse(let tool)? = result.content.first else {
            Issue.record("no tool use in \(result.content)")
            return
        }
        #expect(tool.input == .string(input))
    }
}
