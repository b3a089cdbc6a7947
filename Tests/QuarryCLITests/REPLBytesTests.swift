import Foundation
import Testing

/// Issue 18 §2 in the REPL, through a real pseudo-terminal: Lua strings are bytes, so
/// `print`, `write` and `stderr.write` reach the terminal unchanged, and the value
/// printer shows a string's non-printable bytes escaped as `string.format("%q")` does.
@Suite(.serialized) struct REPLBytesTests {
    typealias Sandbox = REPLTerminalTests.Sandbox

    /// Whether `haystack` contains `needle` as a run of bytes.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
    }

    @Test("print, write and stderr.write in the REPL reach the terminal as the bytes written")
    func scriptOutputIsByteClean() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        _ = try repl.evaluate(#"print("<\xff\x00>")"#)
        _ = try repl.evaluate(#"write("[\xfe\x01]\n")"#)
        _ = try repl.evaluate(#"stderr.write("{\xfd\x00}\n")"#)
        let raw = repl.rawBytes
        #expect(Self.contains(raw, [0x3C, 0xFF, 0x00, 0x3E]), "print's bytes")
        #expect(Self.contains(raw, [0x5B, 0xFE, 0x01, 0x5D]), "write's bytes")
        #expect(Self.contains(raw, [0x7B, 0xFD, 0x00, 0x7D]), "stderr.write's bytes")
        #expect(!Self.contains(raw, [0xEF, 0xBF, 0xBD]), "no U+FFFD replacement anywhere")
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
    }

    @Test("a string value shows its non-printable bytes as %q does, and reads back the same")
    func valuesEscapeBytesLikePercentQ() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        #expect(try repl.evaluate(#""\xff\x00""#) == #""\255\0""#)
        // A digit after an escape gets the three-digit form, so the literal is unambiguous.
        #expect(try repl.evaluate(#""\0" .. "1" .. "\xff" .. "9""#) == #""\0001\2559""#)
        #expect(try repl.evaluate(#""tab\tnew\nesc\27 bell\7 é""#) == #""tab\tnew\nesc\27 bell\7 é""#)
        // Inside a table too, and the text is a Lua literal for the same bytes.
        _ = try repl.evaluate(#"x = "\xff\0001é\27[2J\xc3""#)
        let shown = try repl.evaluate("x")
        #expect(shown == #""\255\0001é\27[2J\195""#)
        #expect(try repl.evaluate("(\(shown)) == x") == "true")
        #expect(try repl.evaluate("{x}") == #"{ "\255\0001é\27[2J\195" }"#)
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
    }

    @Test("using io at the prompt gets the same hint as in a script")
    func ioAtThePromptGetsTheHint() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        let shown = try repl.evaluate("io.write('x')")
        #expect(shown.contains("(global 'io')") && shown.contains("Quarry has no io library"), "\(shown)")
        #expect(shown.contains("stdin.read"), "\(shown)")
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
    }

    @Test("a host function's error in an expression names the input's line, not the REPL's own code")
    func hostErrorsNameTheInputLine() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        let shown = try repl.evaluate("map(5, print)")
        #expect(shown.hasPrefix("repl:1: ValidationError: map:"), "\(shown)")
        // Expressions still give all their values.
        #expect(try repl.evaluate("1, 2, nil, 4") == "1\t2\tnil\t4")
        #expect(try repl.evaluate("(function() return 1, 2 end)()") == "1\t2")
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
    }
}
