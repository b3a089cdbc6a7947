import Foundation
import Testing
@testable import BedrockEmulator

@Suite("JSON parsing")
struct JSONParserTests {
    @Test("values parse to the tree JSONDecoder would build", arguments: [
        #"{"a":[1,-2.5,3e2,true,false,null],"b":{"c":"d"},"e":""}"#,
        #"  [ "\u00e9\ud83d\ude00\n\t\"\\\/" , 0, -0.0, 1E-2 ]  "#,
        #""plain""#, "42", "true", "null", "[]", "{}",
    ])
    func matchesFoundation(text: String) throws {
        let ours = try #require(JSONValue.parse(Array(text.utf8)))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundation)
    }

    @Test("escapes decode and serialization round-trips")
    func roundTrip() throws {
        let value = try #require(JSONValue.parse(Array(#"{"s":"é😀\n\"\\/","n":[1,2.5]}"#.utf8)))
        #expect(value["s"]?.stringValue == "é😀\n\"\\/")
        #expect(JSONValue.parse(value.serialized) == value)
    }

    @Test("malformed input is refused", arguments: [
        "", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "01", "1.", "-", "tru", "\"unterminated", "\"bad \\x escape\"",
        "\"\u{01}\"", "[1] 2", "{\"a\":1,}", "\"\\ud800\"", String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ])
    func malformed(text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil)
    }
}
