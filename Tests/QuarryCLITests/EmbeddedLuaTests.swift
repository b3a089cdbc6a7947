import Quarry
import Testing

@testable import QuarryCLI

/// The Lua sources the CLI embeds at build time (issue 17 item 5): the REPL's printer and
/// evaluation step each compile in a real lua_State, open with their header comment, and
/// together evaluate an input as the REPL does.
@Suite struct EmbeddedLuaTests {
    @Test func printerAndEvaluationStepCompileAndEvaluate() throws {
        #expect(REPLPrettyPrinter.source.hasPrefix("-- The REPL's value renderer"))
        #expect(EvaluationChunk.evaluation.hasPrefix("-- The REPL's evaluation step"))
        let state = try LuaState()
        for (source, name) in [
            (REPLPrettyPrinter.source, "=repl printer"), (EvaluationChunk.evaluation, "=repl evaluation"),
        ] {
            let function = try state.load(source, name: name)
            state.release(function)
        }
        let expression = try state.execute(
            EvaluationChunk(input: "1 + 1", chunkName: "=repl", colour: false).source, name: "=repl")
        #expect(expression == [.string("ok"), .boolean(true), .string("2")])
        let statement = try state.execute(
            EvaluationChunk(input: "x = 1", chunkName: "=repl", colour: false).source, name: "=repl")
        #expect(Array(statement.prefix(2)) == [.string("ok"), .boolean(false)])
        let wrong = try state.execute(
            EvaluationChunk(input: "x = = 1", chunkName: "=repl", colour: false).source, name: "=repl")
        #expect(wrong.first == .string("syntax"))
    }
}
