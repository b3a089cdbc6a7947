import Foundation
import BedrockWire
import HTTPTestSupport
import Testing
@testable import BedrockRuntime

@Suite("Ordered JSON: parser, botocore writer, Codable bridge")
struct JSONTests {
    @Test("member order survives parse → decode → encode → write")
    func orderSurvives() throws {
        let text = #"{"modelId":"m","messages":[{"role":"user","content":[{"text":"hi"}]}],"additionalModelRequestFields":{"z":1,"a":[true,null,2.5]}}"#
        let request = try JSONValueDecoder().decode(ConverseRequest.self, from: Array(text.utf8))
        let written = JSONWriter.botocore.string(try JSONValueEncoder().encode(request))
        #expect(written == #"{"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}], "additionalModelRequestFields": {"z": 1, "a": [true, null, 2.5]}}"#)
    }

    @Test("text deltas are read without a document, exactly as the full parser reads them", arguments: [
        #"{"contentBlockIndex":0,"delta":{"text":" token7"},"p":"abcdefgh"}"#,
        #"{"p":"x","delta":{"text":"caf\u00e9 \"q\"\n"},"contentBlockIndex":12}"#,
        #" { "contentBlockIndex" : 2 , "delta" : { "text" : "é😀" } , "p" : [1, {"a": null}] } "#,
        #"{"contentBlockIndex":0,"delta":{"text":""}}"#,
    ])
    func textDeltaFastPath(_ text: String) throws {
        let fast = try #require(Array(text.utf8).withUnsafeBytes { JSONParser.textDelta($0) })
        let full = try JSONParser.parse(text)
        #expect(fast.index == full["contentBlockIndex"]?.intValue)
        #expect(fast.text == full["delta"]?["text"]?.stringValue)
    }

    @Test("anything but a plain text delta is left to the full parser", arguments: [
        #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{"}}}"#,
        #"{"contentBlockIndex":0,"delta":{"text":"a","citation":{}}}"#,
        #"{"contentBlockIndex":0.5,"delta":{"text":"a"}}"#,
        #"{"contentBlockIndex":0,"contentBlockIndex":1,"delta":{"text":"a"}}"#,
        #"{"delta":{"text":"a"}}"#,
        #"{"contentBlockIndex":0,"delta":{"text":"a"}} x"#,
        #"{"contentBlockIndex":0,"delta":{"text":"a"#,
        #"[1]"#,
    ])
    func textDeltaFallsBack(_ text: String) {
        #expect(Array(text.utf8).withUnsafeBytes { JSONParser.textDelta($0) } == nil)
    }

    @Test("a text delta whose other members are not UTF-8 is left to the full parser, which rejects it")
    func textDeltaChecksSkippedMembers() {
        let bad: [UInt8] = Array(#"{"contentBlockIndex":0,"delta":{"text":"a"},"p":""#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(bad.withUnsafeBytes { JSONParser.textDelta($0) } == nil)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(bad) }
        let escaped = #"{"contentBlockIndex":0,"delta":{"text":"a"},"p":"x\"y"}"#
        #expect(Array(escaped.utf8).withUnsafeBytes { JSONParser.textDelta($0) } == nil)
        #expect((try? JSONParser.parse(escaped))?["delta"]?["text"]?.stringValue == "a")
    }

    @Test("strings are read alike whatever the position of quotes, escapes, control and non-ASCII bytes")
    func stringScanningAtEveryPosition() throws {
        // The reader scans eight bytes at a time: put each kind of byte at every offset
        // of strings of every length around the word size, and compare with Foundation.
        let specials: [String] = [#"\""#, #"\\"#, #"\n"#, #"\u00e9"#, "é", "😀", "\u{7f}"]
        for length in 0..<20 {
            for position in 0...length {
                for special in specials {
                    var text = String(repeating: "a", count: position) + special + String(repeating: "b", count: length - position)
                    text = "\"" + text + "\""
                    let ours = try JSONParser.parse(text)
                    let reference = try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) as? String
                    #expect(ours.stringValue == reference, "\(text)")
                }
                // A raw control character is refused wherever it is.
                let control = "\"" + String(repeating: "a", count: position) + "\u{01}" + String(repeating: "b", count: length - position) + "\""
                #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(control) }
                // So is an unterminated string.
                #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse("\"" + String(repeating: "a", count: length)) }
            }
        }
    }

    @Test("strings that are not UTF-8 are rejected; valid multi-byte text is kept")
    func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(bytes) }
        let fine: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0xA9] + Array(#""}"#.utf8)
        #expect((try? JSONParser.parse(fine))?["a"]?.stringValue == "é")
    }

    @Test("the botocore writer escapes like Python's json.dumps")
    func pythonEscapes() {
        let v: JSONValue = ["s": "é😀\u{7f}\"\\/\n\t\u{01}"]
        #expect(JSONWriter.botocore.string(v) == #"{"s": "\u00e9\ud83d\ude00\u007f\"\\/\n\t\u0001"}"#)
        #expect(JSONWriter.compact.string(v) == "{\"s\":\"é😀\u{7f}\\\"\\\\/\\n\\t\\u0001\"}")
    }

    @Test("bad JSON is rejected with the reason and offset", arguments: [
        ("{\"a\":}", "unexpected character"), ("[1,2", "unterminated array"), ("\"\\x\"", "unknown escape"),
        ("\"\\ud800\"", "unpaired surrogate"), ("01x", "unexpected data after the value"), ("", "unexpected end of input"),
        (String(repeating: "[", count: 600), "nesting deeper than 512"),
    ])
    func rejects(_ text: String, _ reason: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted \(text.prefix(20))")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test("numbers keep integer or fraction form")
    func numbers() throws {
        #expect(try JSONParser.parse("[1, -2, 2.5, 1e3, 9223372036854775808]") == [1, -2, 2.5, 1000.0, .double(9223372036854775808)])
        #expect(JSONWriter.botocore.string([1, 0.5, 1e-7]) == "[1, 0.5, 1e-07]")
    }
}

@Suite("More stream and retry paths")
struct MoreStreamTests {
    @Test("an unmodelled :message-type error frame is a service error with its code and message")
    func errorFrame() async throws {
        let errorFrame = (try? Array(EventStreamWriter().frame(EventStreamWriter.error(code: "InternalFailure", message: "boom")).readableBytesView)) ?? []
        let server = try await ScriptedHTTPServer.start { _, _ in
            StreamFrames.stream(Array(StreamFrames.conversation(["Hi"]).prefix(2)) + [errorFrame])
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converseStream(helloRequest).collect() }
        }
        #expect(error?.code == "InternalFailure")
        #expect(error?.message == "boom")
        #expect(error?.partialResult?.text == "Hi")
    }

    @Test("adaptive mode turns the rate limiter on after throttling")
    func adaptiveEnables() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0 ? .serviceError("ThrottlingException", status: 429, message: "slow") : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        var retry = fastRetry
        retry.mode = .adaptive
        let enabled = try await withClient(server, retry: retry) { client in
            #expect(!client.pipeline.rateLimiter.isEnabled)
            _ = try await client.converse(helloRequest)
            return client.pipeline.rateLimiter.isEnabled
        }
        #expect(enabled)
    }
}
