import BedrockWire
import Foundation
import Testing

@testable import BedrockEmulator

/// Scripted replies: a test decides exactly what the model answers.
@Suite struct ScriptedReplyTests {
    @Test("text, tool calls, JSON and errors answer the matching requests, in order, for `times`")
    func replies() async throws {
        try await withEmulator { emulator, client in
            try emulator.addResponse(
                ScriptedReply(contains: "weather", tool: .init(name: "get_weather", input: ["city": "Oslo"])))
            try emulator.addResponse(
                ScriptedReply(operation: "Converse", pattern: "^Summar", text: "A short summary.", times: 1))
            try emulator.addResponse(ScriptedReply(contains: "as json", json: ["ok": true]))
            try emulator.addResponse(
                ScriptedReply(model: "amazon.nova-lite-v1:0", error: "ThrottlingException", message: "slow down"))
            let tools: JSONValue = [
                "tools": [["toolSpec": ["name": "get_weather", "inputSchema": ["json": ["type": "object"]]]]]
            ]
            let call = try await client.send(
                "/model/\(claude)/converse", json: converseBody("How is the weather?", extra: ["toolConfig": tools]))
            #expect(call.json?["stopReason"] == "tool_use")
            let use = call.json?["output"]?["message"]?["content"]?.arrayValue?.first?["toolUse"]
            #expect(use?["name"] == "get_weather" && use?["input"] == ["city": "Oslo"])
            let summary = try await client.send("/model/\(claude)/converse", json: converseBody("Summarise this"))
            #expect(summary.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"] == "A short summary.")
            let again = try await client.send("/model/\(claude)/converse", json: converseBody("Summarise this"))
            #expect(
                again.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.hasPrefix(
                    "You said") == true)
            let json = try await client.send("/model/\(claude)/converse", json: converseBody("Answer as json"))
            #expect(json.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"] == #"{"ok":true}"#)
            let throttled = try await client.send("/model/us.amazon.nova-lite-v1:0/converse", json: converseBody("hi"))
            #expect(throttled.status == 429 && throttled.errorType == "ThrottlingException")
            #expect(throttled.json?["message"] == "slow down")
            #expect(emulator.responses.count == 3)
        }
    }

    @Test(
        "bad replies are refused with a message naming the problem",
        arguments: [
            (ScriptedReply(contains: "x"), "needs one of text, tool, json or error"),
            (ScriptedReply(text: "a", json: 1), "exactly one of"),
            (ScriptedReply(operation: "Chat", text: "a"), "unknown operation 'Chat'"),
            (ScriptedReply(pattern: "(", text: "a"), "not a valid regular expression"),
            (ScriptedReply(error: "Boom"), "unknown error 'Boom'"),
            (ScriptedReply(text: "a", times: 0), "times must be at least 1"),
        ])
    func invalid(reply: ScriptedReply, message: String) {
        do {
            _ = try ReplyBook().add(reply)
            Issue.record("accepted \(reply)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.description.hasPrefix("invalid scripted reply: "), "\(error.description)")
        }
    }

    @Test("the config file's responses are in force from the start; a bad one names its index")
    func configFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-replies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json")
        try Data(#"{"responses": [{"contains": "ping", "text": "pong"}]}"#.utf8).write(to: good)
        let configuration = try EmulatorConfiguration(contentsOfFile: good.path)
        try await withEmulator({ $0.responses = configuration.responses }) { _, client in
            let reply = try await client.send("/model/\(claude)/converse", json: converseBody("ping"))
            #expect(reply.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"] == "pong")
        }
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"responses": [{"contains": "a", "text": "b"}, {"contains": "ping"}]}"#.utf8).write(to: bad)
        do {
            _ = try EmulatorConfiguration(contentsOfFile: bad.path)
            Issue.record("accepted a reply with no answer")
        } catch {
            #expect(error.message.contains("responses[2]"))
        }
    }
}
