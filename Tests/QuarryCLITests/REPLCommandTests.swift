import Foundation
import Testing

@testable import QuarryCLI

/// The `:` commands through the terminal.
@Suite(.serialized) struct REPLCommandTests {
    @Test func modelsUseSaveLoadLimitsAndReset() throws {
        let sandbox = try REPLTerminalTests.Sandbox()
        let repl = try sandbox.start()
        let models = try repl.evaluate(":models")
        #expect(models.contains("amazon.nova-micro-v1:0"))
        #expect(try repl.evaluate(":use no.such-model").contains("unknown model 'no.such-model'"))
        #expect(try repl.evaluate(":use amazon.nova-micro-v1:0") == "default model: amazon.nova-micro-v1:0")
        // Calls without model= use it; the status line names it.
        let call = try repl.evaluate("bedrock.converse{messages = 'hi'}.stop_reason")
        #expect(call.contains("[Converse amazon.nova-micro-v1:0 ·"))
        #expect(call.hasSuffix("\"end_turn\""))

        _ = try repl.evaluate("local base = 40")
        _ = try repl.evaluate("function bump(x) return x + 2 end")
        let file = sandbox.home.appendingPathComponent("session.lua").path
        #expect(try repl.evaluate(":save \(file)").contains("saved 3 inputs"))
        let saved = try String(contentsOfFile: file, encoding: .utf8)
        #expect(saved.contains("base = 40\n"))
        #expect(!saved.contains("local base"), "saved as it ran, so :load restores the session global")
        #expect(saved.contains("function bump(x) return x + 2 end\n"))

        #expect(try repl.evaluate(":limits").contains("instructions=10000000000"))
        #expect(try repl.evaluate(":limits speed=3").contains("unknown limit 'speed'"))
        let changed = try repl.evaluate(":limits seconds=45")
        #expect(changed.contains("fresh session state"))
        #expect(changed.contains("seconds=45.0"))
        #expect(try repl.evaluate("base") == "nil", "a new limit starts a fresh state")

        _ = try repl.evaluate(":load \(file)")
        let loaded = try repl.evaluate("bump(base)")
        #expect(loaded == "42", "\(repl.transcript)")
        _ = try repl.evaluate(":reset")
        #expect(try repl.evaluate("bump") == "nil")
        #expect(try repl.evaluate(":nope").contains("unknown command :nope"))
        #expect(try repl.evaluate(":load /nonexistent/file.lua").contains("cannot read"))
        repl.type(":quit\r")
        #expect(repl.waitForExit() == 0)
    }
}
