import Foundation
import Testing

@testable import QuarryCLI

/// The interactive REPL through a real pseudo-terminal: readline editing, evaluation,
/// printing, completion, history, Ctrl-C and Ctrl-D, against the built-in emulator.
///
/// Serialized: each test starts `quarry` (and its in-process emulator), which is
/// heavy enough on a 2-core machine that running them side by side only adds flakiness.
@Suite(.serialized) struct REPLTerminalTests {
    /// A fresh HOME, a history file inside it, the emulator forced, no AWS variables.
    struct Sandbox {
        let home: URL
        var history: URL { home.appendingPathComponent("history") }

        init() throws {
            home = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-repl-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        }

        func environment(_ extra: [String: String] = [:]) -> [String: String] {
            var env: [String: String] = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "HOME": home.path, "TERM": "xterm-256color", "LANG": "C.UTF-8",
                "QUARRY_HISTORY": history.path, "QUARRY_TARGET": "emulator",
            ]
            env.merge(extra) { $1 }
            return env
        }

        func start(_ arguments: [String] = [], _ extra: [String: String] = [:]) throws -> PseudoTerminal {
            let terminal = try PseudoTerminal(arguments: arguments, environment: environment(extra))
            try terminal.waitForPrompt()
            return terminal
        }
    }

    @Test func evaluatesExpressionsAndKeepsTopLevelLocals() throws {
        let repl = try Sandbox().start()
        #expect(repl.transcript.contains("Quarry 0."))
        #expect(repl.transcript.contains("target: emulator at http://127.0.0.1:"))
        #expect(repl.transcript.contains(":help"))
        #expect(try repl.evaluate("6 * 7") == "42")
        #expect(try repl.evaluate("local greeting = 'hi' .. '!'") == "")
        #expect(try repl.evaluate("greeting") == "\"hi!\"")
        #expect(try repl.evaluate("local function twice(x) return 2 * x end") == "")
        #expect(try repl.evaluate("twice(21), 'b'") == "42\t\"b\"")
        #expect(try repl.evaluate("print('printed', 1)") == "printed\t1")
        #expect(try repl.evaluate("error('boom')").contains("repl:1: boom"))
        #expect(try repl.evaluate("greeting") == "\"hi!\"", "an error keeps the session state")
        let help = try repl.evaluate(":help")
        #expect(help.contains(":use MODEL"))
        #expect(help.contains("becomes the global"))
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
    }

    @Test func prettyPrintsTablesCyclesNullAndLongStrings() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        _ = try repl.evaluate("t = {3, 2, 1, b = {c = true}, a = 'x', [10] = 'ten'}; t.self = t")
        #expect(try repl.evaluate("t") == "{ 3, 2, 1, [10] = \"ten\", a = \"x\", b = { c = true }, self = <cycle> }")
        #expect(try repl.evaluate("json.null, nil, 1.5, 'a\\tb'") == "null\tnil\t1.5\t\"a\\tb\"")
        #expect(try repl.evaluate("print") == "<function>")
        let long = try repl.evaluate("('x'):rep(5000)")
        #expect(long.hasSuffix("…(+1000 bytes)"))
        let wide = try repl.evaluate("{ first = ('a'):rep(60), second = ('b'):rep(60) }")
        #expect(
            wide
                == "{\n  first = \"\(String(repeating: "a", count: 60))\",\n  second = \"\(String(repeating: "b", count: 60))\"\n}"
        )
        #expect(!repl.rawTranscript.contains("\u{1B}[32m"), "NO_COLOR turns colour off")
    }

    @Test func colourOnATerminalByDefault() throws {
        let repl = try Sandbox().start()
        #expect(try repl.evaluate("'green'") == "\"green\"")
        #expect(repl.rawTranscript.contains("\u{1B}[32m\"green\"\u{1B}[0m"))
    }

    @Test func multiLineInputContinuesUntilComplete() throws {
        let repl = try Sandbox().start()
        let mark = repl.transcript.count
        repl.type("function add(a, b)\r")
        try repl.waitFor("...> ", after: mark)
        let second = repl.transcript.count
        repl.type("return a + b\r")
        try repl.waitFor("...> ", after: second)
        #expect(try repl.evaluate("end") == "")
        #expect(try repl.evaluate("add(40, 2)") == "42")
        // A blank line forces evaluation of an unfinished chunk: Lua says what is missing.
        let start = repl.transcript.count
        repl.type("if true then\r")
        try repl.waitFor("...> ", after: start)
        #expect(try repl.evaluate("").contains("'end' expected"))
        // `;;` ends a chunk too.
        #expect(try repl.evaluate("x = 5;;") == "")
        #expect(try repl.evaluate("x") == "5")
    }

    @Test func tabCompletesFieldsMethodsModelsAndCommands() throws {
        let repl = try Sandbox().start()
        #expect(try repl.evaluate("string.fo\t('%d', 7)").hasSuffix("\"7\""))
        #expect(try repl.evaluate("bedrock.conv\t ~= nil").hasSuffix("true"))
        _ = try repl.evaluate("c = bedrock.client{}")
        #expect(
            try repl.evaluate("c:conv\t{model = 'amazon.nova-micro-v1:0', messages = 'hi'}.stop_reason")
                .hasSuffix("\"end_turn\""))
        // The completed id closes its quote (issue 18 §6).
        _ = try repl.evaluate("m = {model = 'amazon.nova-mic\t}")
        #expect(try repl.evaluate("m.model") == "\"amazon.nova-micro-v1:0\"")
        #expect(try repl.evaluate(":hel\t").contains("Commands"))
    }

    @Test func historyPersistsWithoutSecretsInAMode0600File() throws {
        let sandbox = try Sandbox()
        let first = try sandbox.start()
        _ = try first.evaluate("print('from-history-' .. 2 * 21)")
        _ = try first.evaluate(" hidden_by_space = 'shh'")
        _ = try first.evaluate("key = 'AKIAIOSFODNN7EXAMPLE'")
        _ = try first.evaluate("token = 'not-for-history'")
        first.type("\u{4}")
        #expect(first.waitForExit() == 0)

        let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.history.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let file = try String(contentsOf: sandbox.history, encoding: .utf8)
        #expect(file.contains("from-history-"))
        #expect(!file.contains("hidden_by_space"))
        #expect(!file.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(!file.contains("not-for-history"))

        let second = try sandbox.start()
        // Up-arrow recalls the last recorded input from the first session.
        let mark = second.transcript.count
        second.type("\u{1B}[A\r")
        try second.waitFor("from-history-42\n", after: mark)
        // Ctrl-R searches it too.
        try second.waitFor("quarry> ", after: mark + 10)
        let searchMark = second.transcript.count
        second.type("\u{12}from-hist\r")
        try second.waitFor("from-history-42\n", after: searchMark)
        let history = try second.evaluate(":history")
        #expect(history.contains("from-history-"))
        #expect(!history.contains("AKIA"))
    }

    @Test func ctrlCStopsALongLoopAndKeepsState() throws {
        let repl = try Sandbox().start()
        _ = try repl.evaluate("kept = 'still here'")
        let mark = repl.transcript.count
        repl.type("print('looping') while true do end\r")
        try repl.waitFor("looping\n", after: mark)
        repl.type("\u{3}")
        try repl.waitFor("interrupted (session state kept)", after: mark)
        try repl.waitFor("quarry> ", after: mark)
        #expect(try repl.evaluate("kept") == "\"still here\"")
    }

    @Test func ctrlCAtThePromptClearsTheLine() throws {
        let repl = try Sandbox().start()
        let mark = repl.transcript.count
        repl.type("zzz_unfinished")
        try repl.waitFor("zzz_unfinished", after: mark)
        repl.type("\u{3}")
        try repl.waitFor("^C\nquarry> ", after: mark)
        #expect(try repl.evaluate("1 + 2") == "3")
        // In a multi-line chunk it drops the whole chunk.
        let chunk = repl.transcript.count
        repl.type("for i = 1, 3 do\r")
        try repl.waitFor("...> ", after: chunk)
        repl.type("\u{3}")
        try repl.waitFor("^C\nquarry> ", after: chunk)
        #expect(try repl.evaluate("2 + 2") == "4")
    }

    @Test func pipedStdinRunsAsAScriptWithoutPrompts() throws {
        let home = try Sandbox()
        let result = try QuarryProcess.run(
            ["--quiet"], stdin: "local x = 6\nprint(x * 7)\n",
            environment: home.environment())
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "42\n")
        #expect(!result.stdout.contains("quarry>"))
        #expect(!FileManager.default.fileExists(atPath: home.history.path), "a piped script records no history")
    }
}
