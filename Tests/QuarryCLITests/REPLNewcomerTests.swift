import Foundation
import Testing

/// The REPL points of issue 18 §6 through a real pseudo-terminal against the built-in
/// emulator: completion across `-` and of methods, how error values and host tables
/// print, multi-line history, where a stream's status line goes, and `help repl`.
@Suite(.serialized) struct REPLNewcomerTests {
    typealias Sandbox = REPLTerminalTests.Sandbox

    @Test("`:use amazon.nova-pro<Tab>` completes across the dash")
    func useCompletesAcrossDashes() throws {
        let repl = try Sandbox().start()
        let shown = try repl.evaluate(":use amazon.nova-pro\t")
        #expect(shown.contains("default model: amazon.nova-pro-v1:0"), "\(shown)")
        repl.type("\u{4}")
        _ = repl.waitForExit()
    }

    @Test("a call without a model hints at :use; :target aws with no credentials says so at once")
    func missingModelAndCredentialsAreHinted() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1", "AWS_REGION": "us-east-1"])
        let missing = try repl.evaluate("bedrock.converse{messages = 'hi'}")
        #expect(missing.contains("'model' is required") && missing.contains("hint: :use MODEL"), "\(missing)")
        _ = try repl.evaluate(":use amazon.nova-micro-v1:0")
        let answered = try repl.evaluate("bedrock.converse{messages = 'hi'}.stop_reason")
        #expect(answered.contains("end_turn") && !answered.contains("hint:"), "\(answered)")
        let switched = try repl.evaluate(":target aws")
        #expect(switched.contains("target: AWS us-east-1"), "\(switched)")
        #expect(switched.contains("note: no AWS credentials are configured"), "\(switched)")
        repl.type("\u{4}")
        _ = repl.waitForExit()
    }

    @Test(
        "a stream shows how it ended, not the whole response; a call that ends at the prompt reports before the next output"
    )
    func streamEndingsAndHeldStatusLines() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        _ = try repl.evaluate(":use amazon.nova-micro-v1:0")
        let shown = try repl.evaluate("bedrock.stream{messages = 'hi'}")
        #expect(shown.contains("stop_reason = \"end_turn\"") && shown.contains("usage ="), "\(shown)")
        #expect(!shown.contains("attempt_log") && !shown.contains("request_id"), "\(shown)")
        #expect(try repl.evaluate("_.request_id ~= nil") == "true", "_ holds the whole response")
        _ = try repl.evaluate("s = bedrock.stream{messages = 'hi'}")
        let mark = repl.transcript.count
        Thread.sleep(forTimeInterval: 1)  // the emulator answers at once: the call ends meanwhile
        let atPrompt = String(repl.transcript.dropFirst(mark))
        #expect(!atPrompt.contains("[ConverseStream"), "printed into the waiting prompt: \(atPrompt)")
        let next = try repl.evaluate("s")
        #expect(next.contains("[ConverseStream amazon.nova-micro-v1:0 ·"), "\(next)")
        repl.type("\u{4}")
        _ = repl.waitForExit()
    }

    @Test("`c:<Tab>` offers methods only")
    func colonOffersMethodsOnly() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        _ = try repl.evaluate("c = bedrock.client{}")
        let mark = repl.transcript.count
        repl.type("c:\t\t")
        let listed = try repl.waitFor("c:converse", after: mark)
        Thread.sleep(forTimeInterval: 0.3)
        let all = String(repl.transcript.dropFirst(mark))
        #expect(!all.contains("c:handle") && !all.contains("c:region"), "\(listed)")
        repl.type("\u{3}")
        try repl.waitFor("quarry> ", after: mark + listed.count)
        #expect(try repl.evaluate("1 + 1") == "2")
    }

    @Test("an error value prints its fields; host tables print their members")
    func errorValuesAndHostTablesPrintTheirFields() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        let error = try repl.evaluate("select(2, pcall(bedrock.converse, {model = 'amazon.nova-micro-v1:0'}))")
        #expect(error.contains("ValidationError: bedrock.converse"), "\(error)")
        #expect(error.contains("code = \"ValidationError\""), "\(error)")
        #expect(error.contains("retryable = false"), "\(error)")
        let resilience = try repl.evaluate("resilience")
        #expect(resilience.contains("= <function>"), "\(resilience)")
        let bedrock = try repl.evaluate("bedrock")
        #expect(bedrock.contains("converse = <function>"), "\(bedrock)")
    }

    @Test("a multi-line entry comes back from history as one entry")
    func multiLineHistoryIsOneEntry() throws {
        let sandbox = try Sandbox()
        let first = try sandbox.start()
        let mark = first.transcript.count
        first.type("function answer()\r")
        try first.waitFor("...> ", after: mark)
        let second = first.transcript.count
        first.type("return 42\r")
        try first.waitFor("...> ", after: second)
        _ = try first.evaluate("end")
        first.type("\u{4}")
        #expect(first.waitForExit() == 0)

        let next = try sandbox.start()
        let recall = next.transcript.count
        next.type("\u{1B}[A\r")
        try next.waitFor("\nquarry> ", after: recall + 5)
        #expect(try next.evaluate("answer()") == "42")
    }

    @Test("the status line after a stream comes after its last chunk")
    func streamStatusLineComesLast() throws {
        let repl = try Sandbox().start([], ["NO_COLOR": "1"])
        for input in [
            "bedrock.stream{model = 'amazon.nova-micro-v1:0', messages = 'zebra quartz'}",
            "bedrock.stream{model = 'amazon.nova-micro-v1:0', messages = 'zebra quartz', on_text = write}",
        ] {
            let shown = try repl.evaluate(input)
            let status = try #require(shown.range(of: "[ConverseStream amazon.nova-micro-v1:0"), "\(shown)")
            let line = try #require(shown[status.lowerBound...].range(of: "]\n"), "\(shown)")
            // Only the call's value follows the status line: no chunk of the answer.
            #expect(shown[line.upperBound...].hasPrefix("{"), "\(shown)")
            #expect(shown[..<status.lowerBound].contains("you already know."), "\(shown)")
        }
    }

    @Test("`quarry help repl` shows the REPL's own limits")
    func helpShowsTheREPLLimits() throws {
        let r = try QuarryProcess.run(["help", "repl"], environment: HostCLITests.noAWS)
        #expect(r.status == 0)
        #expect(r.stdout.contains("10 billion"), "\(r.stdout)")
        #expect(r.stdout.contains("600 s"), "\(r.stdout)")
    }
}
