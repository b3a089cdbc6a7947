import Testing

@testable import QuarryCLI

/// The REPL's pure parts: local rewriting, the secret filter, completion rules, the
/// input literal, limit settings.
@Suite struct REPLPartsTests {
    @Test func topLevelLocalsBecomeSessionGlobals() {
        #expect(SessionLocals.rewrite("local x = 1") == "x = 1")
        #expect(SessionLocals.rewrite("local a, b <const> = 1, 2") == "a, b = 1, 2")
        #expect(SessionLocals.rewrite("local y") == "y = nil")
        #expect(
            SessionLocals.rewrite("local function f() local z = 1 return z end")
                == "function f() local z = 1 return z end")
        #expect(
            SessionLocals.rewrite("for i = 1, 2 do local t = i end local u = 3")
                == "for i = 1, 2 do local t = i end u = 3")
        #expect(SessionLocals.rewrite("local h <close> = nil") == "local h <close> = nil")
        #expect(SessionLocals.rewrite("s = 'local x = 1' -- local y = 2") == "s = 'local x = 1' -- local y = 2")
        #expect(SessionLocals.rewrite("s = [[\nlocal q = 1]] local r = 2") == "s = [[\nlocal q = 1]] r = 2")
        #expect(SessionLocals.rewrite("x = \"unfinished") == "x = \"unfinished")
    }

    @Test func secretLookingInputIsNotRecorded() {
        #expect(SecretFilter.mayRecord("x = 1 + 2"))
        #expect(
            SecretFilter.mayRecord(
                "r = bedrock.converse{model='anthropic.claude-3-5-sonnet-20241022-v2:0', inference={max_tokens=100}}"))
        #expect(!SecretFilter.mayRecord(" x = 'typed with a leading space'"))
        #expect(!SecretFilter.mayRecord("k = 'AKIAIOSFODNN7EXAMPLE'"))
        #expect(!SecretFilter.mayRecord("s = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'"))
        #expect(!SecretFilter.mayRecord("t = 'ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl'"))
        #expect(!SecretFilter.mayRecord("password = 'hunter2'"))
        #expect(!SecretFilter.mayRecord("cfg = {session_token = \"abc\"}"))
        #expect(SecretFilter.mayRecord("max_tokens = 100"))
    }

    @Test func completionFollowsTheContext() {
        let completer = Completer(
            keys: { path in
                switch path {
                case "": return ["bedrock", "string", "__quarry"]
                case "bedrock", "bedrock:": return ["converse", "count_tokens", "client"]
                case "c": return ["converse", "handle", "region"]
                case "c:": return ["converse"]
                default: return []
                }
            },
            modelIDs: {
                ["amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"]
            },
            commands: [":help", ":history", ":use"])
        #expect(
            completer.complete(word: "bedrock.co", before: "").candidates == [
                "bedrock.converse", "bedrock.count_tokens",
            ])
        #expect(completer.complete(word: "bedrock:cl", before: "x = ").candidates == ["bedrock:client"])
        #expect(completer.complete(word: "__", before: "").candidates.isEmpty, "host internals are hidden")
        #expect(completer.complete(word: "whi", before: "").candidates == ["while"])
        #expect(completer.complete(word: ":h", before: "").candidates == [":help", ":history"])
        #expect(
            completer.complete(word: "amazon.nova-m", before: "bedrock.converse{model=\"").candidates
                == ["amazon.nova-micro-v1:0"])
        // `-` breaks words: the candidate replaces only the part after it.
        #expect(
            completer.complete(word: "h", before: "c{model = 'anthropic.claude-3-").candidates
                == ["haiku-20240307-v1:0"])
        #expect(completer.complete(word: "ama", before: "x = 'some ").candidates.isEmpty, "no ids in other strings")
        #expect(completer.complete(word: "amazon.nova-l", before: ":use ").candidates == ["amazon.nova-lite-v1:0"])
        #expect(completer.complete(word: "", before: ":load ").useFilenames)
        // Issue 18 §6: `:use` completes across `-`; a model id closes its string; `c:` offers methods.
        #expect(completer.complete(word: "l", before: ":use amazon.nova-").candidates == ["lite-v1:0"])
        #expect(completer.complete(word: "m", before: "x{model = \"amazon.nova-").appendCharacter == "\"")
        #expect(completer.complete(word: "c:", before: "").candidates == ["c:converse"])
        #expect(completer.complete(word: "c.", before: "").candidates == ["c.converse", "c.handle", "c.region"])
    }

    @Test func inputTravelsAsALongStringThatCannotCloseEarly() {
        #expect(EvaluationChunk.longString("x") == "[[\nx]]")
        #expect(EvaluationChunk.longString("a]]b]=]") == "[==[\na]]b]=]]==]")
        #expect(EvaluationChunk.isIncomplete(syntaxError: "repl:1: 'end' expected near <eof>"))
        #expect(
            EvaluationChunk.isIncomplete(
                syntaxError: "repl:1: unfinished long string (starting at line 1) near '<eof>'"))
        #expect(!EvaluationChunk.isIncomplete(syntaxError: "repl:1: unexpected symbol near '+'"))
    }

    @Test func limitSettingsParseAndRefuseNonsense() throws {
        var options = try HostOptions.parse([])
        try LimitSetting.apply("memory=128M", to: &options)
        try LimitSetting.apply("instructions=2g", to: &options)
        try LimitSetting.apply("seconds=90", to: &options)
        #expect(options.maxMemory == 128)
        #expect(options.maxInstructions == 2_000_000_000)
        #expect(options.maxSeconds == 90)
        #expect(throws: REPLError.self) { try LimitSetting.apply("speed=9", to: &options) }
        #expect(throws: REPLError.self) { try LimitSetting.apply("seconds=-1", to: &options) }
        #expect(throws: REPLError.self) { try LimitSetting.apply("memory", to: &options) }
    }
}
