import Foundation
import Testing

@testable import BedrockWire

@Suite("JSON: one ordered value, parser, writers and Codable bridge for client and emulator")
struct JSONTests {
    @Test(
        "text deltas are read without a document, exactly as the full parser reads them",
        arguments: [
            #"{"contentBlockIndex":0,"delta":{"text":" token7"},"p":"abcdefgh"}"#,
            #"{"p":"x","delta":{"text":"caf\u00e9 \"q\"\n"},"contentBlockIndex":12}"#,
            #" { "contentBlockIndex" : 2 , "delta" : { "text" : "é😀" } , "p" : 1.5e3, "q" : null } "#,
            #"{"contentBlockIndex":0,"delta":{"text":""}}"#,
        ])
    func textDeltaFastPath(_ text: String) throws {
        let fast = try #require(Array(text.utf8).withUnsafeBytes { JSONParser.textDelta($0) })
        let full = try JSONParser.parse(text)
        #expect(fast.index == full["contentBlockIndex"]?.intValue)
        #expect(fast.text == full["delta"]?["text"]?.stringValue)
    }

    @Test(
        "anything but a plain text delta is left to the full parser",
        arguments: [
            #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{"}}}"#,
            #"{"contentBlockIndex":0,"delta":{"text":"a","citation":{}}}"#,
            #"{"contentBlockIndex":0.5,"delta":{"text":"a"}}"#,
            #"{"contentBlockIndex":0,"contentBlockIndex":1,"delta":{"text":"a"}}"#,
            #"{"delta":{"text":"a"}}"#,
            #"{"contentBlockIndex":0,"delta":{"text":"a"}} x"#,
            #"{"contentBlockIndex":0,"delta":{"text":"a"#,
            #"[1]"#,
            // An unknown member holding a container goes to the general path, which counts
            // values before parsing (ResponseLimits.maxJSONValues).
            #"{"contentBlockIndex":0,"delta":{"text":"a"},"junk":[[],[]]}"#,
            #"{"contentBlockIndex":0,"junk":{"a":1},"delta":{"text":"a"}}"#,
            #" { "contentBlockIndex" : 2 , "delta" : { "text" : "é😀" } , "p" : [1, {"a": null}] } "#,
        ])
    func textDeltaFallsBack(_ text: String) {
        #expect(Array(text.utf8).withUnsafeBytes { JSONParser.textDelta($0) } == nil)
    }

    @Test("a text delta whose other members are not UTF-8 is left to the full parser, which rejects it")
    func textDeltaChecksSkippedMembers() {
        let bad: [UInt8] =
            Array(#"{"contentBlockIndex":0,"delta":{"text":"a"},"p":""#.utf8) + [0xFF] + Array(#""}"#.utf8)
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
                    var text =
                        String(repeating: "a", count: position) + special
                        + String(repeating: "b", count: length - position)
                    text = "\"" + text + "\""
                    let ours = try JSONParser.parse(text)
                    let reference =
                        try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) as? String
                    #expect(ours.stringValue == reference, "\(text)")
                }
                // A raw control character is refused wherever it is.
                let control =
                    "\"" + String(repeating: "a", count: position) + "\u{01}"
                    + String(repeating: "b", count: length - position) + "\""
                #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(control) }
                // So is an unterminated string.
                #expect(throws: JSONParser.SyntaxError.self) {
                    try JSONParser.parse("\"" + String(repeating: "a", count: length))
                }
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

    @Test(
        "bad JSON is rejected with the reason and offset",
        arguments: [
            ("{\"a\":}", "unexpected character"), ("[1,2", "unterminated array"), ("\"\\x\"", "unknown escape"),
            ("\"\\ud800\"", "unpaired surrogate"), ("01x", "unexpected data after the value"),
            ("", "unexpected end of input"),
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
        #expect(
            try JSONParser.parse("[1, -2, 2.5, 1e3, 9223372036854775808]") == [
                1, -2, 2.5, 1000.0, .double(9223372036854775808),
            ])
        #expect(JSONWriter.botocore.string([1, 0.5, 1e-7]) == "[1, 0.5, 1e-07]")
    }

    @Test("an out-of-range number parses as an infinity and is written back as one, not as null")
    func outOfRangeNumbersRoundTrip() throws {
        let value = try JSONParser.parse("[1e999, -1E+400]")
        #expect(value == [.double(.infinity), .double(-.infinity)])
        for writer in [JSONWriter.botocore, .compact, .canonical] {
            #expect(try JSONParser.parse(writer.bytes(value)) == value)
        }
        #expect(JSONWriter.compact.string([.double(.nan)]) == "[null]")
    }

    // MARK: Cases from the emulator's former parser suite

    @Test(
        "values parse to the tree JSONDecoder would build",
        arguments: [
            #"{"a":[1,-2.5,3e2,true,false,null],"b":{"c":"d"},"e":""}"#,
            #"  [ "\u00e9\ud83d\ude00\n\t\"\\\/" , 0, -0.0, 1E-2 ]  "#,
            #""plain""#, "42", "true", "null", "[]", "{}",
        ])
    func matchesFoundation(text: String) throws {
        let ours = try JSONParser.parse(Array(text.utf8))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundation)
    }

    @Test("escapes decode and serialization round-trips")
    func roundTrip() throws {
        let value = try JSONParser.parse(Array(#"{"s":"é😀\n\"\\/","n":[1,2.5]}"#.utf8))
        #expect(value["s"]?.stringValue == "é😀\n\"\\/")
        #expect(try JSONParser.parse(JSONWriter.compact.bytes(value)) == value)
        #expect(try JSONParser.parse(JSONWriter.botocore.bytes(value)) == value)
        let canonical = JSONWriter.canonical.bytes(value)
        #expect(JSONWriter.canonical.bytes(try JSONParser.parse(canonical)) == canonical)
    }

    @Test(
        "malformed input is refused",
        arguments: [
            "", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "01", "1.", "-", "tru", "\"unterminated", "\"bad \\x escape\"",
            "\"\u{01}\"", "[1] 2", "{\"a\":1,}", "\"\\ud800\"",
            String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ])
    func malformed(text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    // MARK: Where the two former parsers differed (the stricter rule is kept)

    @Test(
        "a leading zero is not part of a number (RFC 8259), inside documents too",
        arguments: [
            "[01]", "{\"a\":00}", "-01", "[-00.5]", "012e3",
        ])
    func leadingZeros(text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test("zero itself, with a fraction, exponent or sign, is still a number")
    func zeroForms() throws {
        #expect(try JSONParser.parse("[0, -0, 0.5, 0e1, -0.0]") == [0, 0, 0.5, 0.0, 0.0])
    }

    @Test("a repeated member name: the document keeps both, lookups and the Codable bridge take the last")
    func duplicateMembers() throws {
        struct Shape: Decodable { var a: Int }
        let value = try JSONParser.parse(#"{"a":1,"b":true,"a":2}"#)
        #expect(value.objectMembers?.count == 3)
        #expect(value["a"] == 2)
        #expect(value.objectValue?["a"] == 2)
        #expect(try JSONValueDecoder().decode(Shape.self, from: value).a == 2)
        #expect(JSONWriter.compact.string(value) == #"{"a":1,"b":true,"a":2}"#)
        #expect(JSONWriter.canonical.string(value) == #"{"a":2,"b":true}"#)
    }

    @Test("whole doubles from 9e15 up are not read as Int; integers written as integers are exact")
    func intValueRange() throws {
        #expect(JSONValue.double(8_999_999_999_999_998).intValue == 8_999_999_999_999_998)
        #expect(JSONValue.double(9e15).intValue == nil)
        #expect(JSONValue.double(1e300).intValue == nil)
        #expect(JSONValue.double(2.5).intValue == nil)
        #expect(try JSONParser.parse("9000000000000001").intValue == 9_000_000_000_000_001)
    }

    @Test("the canonical writer (the emulator's bytes) sorts members and writes whole doubles as integers")
    func canonicalWriter() {
        let v: JSONValue = ["z": 2.0, "a": [1e16, 0.25, -3.0], "m": "é\u{7f}\n\u{01}"]
        #expect(JSONWriter.canonical.string(v) == "{\"a\":[1e+16,0.25,-3],\"m\":\"é\u{7f}\\n\\u0001\",\"z\":2}")
        #expect(JSONWriter.compact.string(v) == "{\"z\":2.0,\"a\":[1e+16,0.25,-3.0],\"m\":\"é\u{7f}\\n\\u0001\"}")
    }

    @Test("equality is JSON's: member order does not matter, 1 equals 1.0, hashes agree")
    func equality() throws {
        let a = try JSONParser.parse(#"{"x":1,"y":[true,{"p":null,"q":"s"}]}"#)
        let b = try JSONParser.parse(#"{"y":[true,{"q":"s","p":null}],"x":1.0}"#)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        #expect(a != (try JSONParser.parse(#"{"x":1,"y":[{"p":null,"q":"s"},true]}"#)))
        #expect(a != (try JSONParser.parse(#"{"x":1}"#)))
        #expect(JSONWriter.compact.string(a) != JSONWriter.compact.string(b))
    }

    @Test("building: a dictionary sorts its members; setting a member replaces, appends or removes it")
    func building() {
        #expect(JSONWriter.compact.string(JSONValue(["b": 1, "a": .int(2)])) == #"{"a":2,"b":1}"#)
        var v: JSONValue = ["x": 1, "y": 2]
        v["x"] = "one"
        v["z"] = true
        v["y"] = nil
        #expect(JSONWriter.compact.string(v) == #"{"x":"one","z":true}"#)
        var scalar: JSONValue = 3
        scalar["k"] = .null
        #expect(scalar == ["k": nil])
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.string("t").boolValue == nil)
    }
}
