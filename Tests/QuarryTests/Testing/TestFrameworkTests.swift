import BedrockRuntime
import Foundation
import Quarry
import TestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The Lua test framework and its runner: matchers, hooks, skips, timeouts, limits,
/// load errors, and the output formats, through real hosts against a live emulator.
@Suite struct TestFrameworkTests {
    @Test("matchers pass on matching values and fail with messages that say what differed")
    func matchers() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "matchers_test.lua",
                """
                test("passing matchers", function()
                  expect({a = 1, b = {2, 3}, c = "x"}).to_equal({c = "x", b = {2, 3}, a = 1})
                  expect(1).to_equal(1.0)
                  expect("x").never.to_equal("y")
                  expect(0).to_be_truthy()
                  expect(nil).to_be_falsy()
                  expect(nil).to_be_nil()
                  expect("hello world").to_contain("o w")
                  expect({1, {k = "v"}, 3}).to_contain({k = "v"})
                  expect("abc-123").to_match("^%a+%-%d+$")
                  expect(5).to_be_greater_than(4); expect(5).to_be_less_than(6)
                  expect(5).to_be_at_least(5); expect(5).to_be_at_most(5)
                  expect(0.1 + 0.2).to_be_close_to(0.3, 1e-9)
                  expect({1, 2, 3}).to_have_length(3)
                  expect("s").to_be_a("string")
                  local e = expect(function() error({code = "Boom", message = "bang"}) end).to_fail_with("Boom")
                  expect(e.message).to_equal("bang")
                  expect(function() error("plain text Oops") end).to_fail_with("Oops")
                  expect(function() error("x") end).to_fail()
                end)
                test("table diff", function()
                  expect({a = 1, b = {2, 4}, c = "x"}).to_equal({a = 1, b = {2, 3}, d = true})
                end)
                test("number", function() expect(3).to_be_greater_than(7) end)
                test("contain", function() expect("quarry").to_contain("stone") end)
                test("fail_with wrong code", function()
                  expect(function() error({code = "Other", message = "m"}) end).to_fail_with("Wanted")
                end)
                test("fail but it returned", function() expect(function() return 1 end).to_fail() end)
                test("match", function() expect("abc").to_match("^%d") end)
                """)
            #expect(summary.result("passing matchers")?.status == .passed, "\(summary.problems)")
            let diff = try #require(summary.result("table diff")?.message)
            #expect(diff.contains("matchers_test.lua:22:"))
            #expect(diff.contains("tables differ"))
            #expect(diff.contains("at .b[2]: expected 3, got 4"))
            #expect(diff.contains("missing .d (expected true)"))
            #expect(diff.contains("unexpected .c = \"x\""))
            #expect(summary.result("number")?.message?.contains("expected 3 to be greater than 7") == true)
            #expect(summary.result("contain")?.message?.contains("\"quarry\" does not contain \"stone\"") == true)
            #expect(
                summary.result("fail_with wrong code")?.message?.contains(
                    "expected the function to fail with Wanted, but it raised Other: m") == true)
            #expect(summary.result("fail but it returned")?.message?.contains("returned normally") == true)
            #expect(summary.result("match")?.message?.contains("does not match the pattern") == true)
            #expect(summary.passed == 1 && summary.failed == 6)
            #expect(summary.summaryLine == "1 passed, 6 failed")
        }
    }

    @Test("describe nests names; before_each/after_each run outer-first/inner-last around each test")
    func hooks() async throws {
        try await LuaTestHarness.with { h in
            let output = TextSink()
            let summary = try await h.run(
                "hooks_test.lua",
                """
                local log = {}
                before_each(function() log[#log + 1] = "outer+" end)
                after_each(function() log[#log + 1] = "outer-" end)
                describe("group", function()
                  before_each(function() log[#log + 1] = "inner+" end)
                  after_each(function() log[#log + 1] = "inner-" end)
                  test("one", function() log[#log + 1] = "one" end)
                  test("two fails", function() log[#log + 1] = "two"; error("boom") end)
                  skip("three", function() log[#log + 1] = "never" end)
                end)
                test("report", function() print(table.concat(log, ",")) end)
                test("skipped inside", function() skip("needs real Bedrock"); error("not reached") end)
                """, output: output)
            #expect(summary.result("group › one")?.status == .passed)
            #expect(summary.result("group › two fails")?.status == .failed)
            #expect(summary.result("group › two fails")?.message?.contains("boom") == true)
            #expect(summary.result("group › three")?.status == .skipped)
            #expect(summary.result("skipped inside")?.status == .skipped)
            #expect(summary.result("skipped inside")?.message == "needs real Bedrock")
            #expect(output.text.contains("outer+,inner+,one,inner-,outer-,outer+,inner+,two,inner-,outer-,outer+"))
            #expect(summary.summaryLine == "2 passed, 1 failed, 2 skipped")
        }
    }

    @Test("a test past its timeout is cancelled and the next test still runs")
    func timeouts() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "timeout_test.lua",
                """
                test("sleeps too long", function() sleep(10) end, {timeout = 0.3})
                test("spins too long", function() while true do end end, {timeout = 0.3})
                test("still fine", function() expect(bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hi"}.text).to_contain("hi") end)
                """)
            let slept = try #require(summary.result("sleeps too long"))
            #expect(slept.status == .failed)
            #expect(slept.message?.contains("timed out after 300 ms") == true)
            #expect(slept.duration < .seconds(5))
            #expect(summary.result("spins too long")?.status == .failed)
            #expect(summary.result("still fine")?.status == .passed, "\(summary.problems)")
        }
    }

    @Test("sandbox limits apply inside tests")
    func limits() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "limits_test.lua",
                """
                test("memory", function() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end end)
                test("after", function() expect(1 + 1).to_equal(2) end)
                """)
            let memory = try #require(summary.result("memory"))
            #expect(memory.status == .failed)
            #expect(memory.message?.lowercased().contains("memory") == true, "\(memory.message ?? "")")
            #expect(summary.result("after")?.status == .passed)
        }
    }

    @Test("a file that does not load is reported as a failure naming the file and line")
    func loadErrors() async throws {
        try await LuaTestHarness.with { h in
            let syntax = try await h.run("broken_test.lua", "test('x', function() end\n")
            #expect(syntax.fileErrors.count == 1)
            #expect(syntax.failed == 1)
            #expect(syntax.fileErrors.first?.message.contains("broken_test.lua") == true)
            let misuse = try await h.run("misuse_test.lua", "test(42, function() end)")
            #expect(
                misuse.fileErrors.first?.message.contains("test: the first argument must be a non-empty name") == true)
        }
    }

    @Test("--filter runs only the matching tests")
    func filter() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "filter_test.lua",
                """
                describe("alpha", function() test("a1", function() end); test("a2", function() end) end)
                test("beta", function() error("must not run") end)
                """, filter: "alpha")
            #expect(summary.results.map(\.name) == ["alpha › a1", "alpha › a2"])
        }
    }

    @Test("faults and scripted replies never leak from one test into the next (client and emulator side)")
    func faultsClearedBetweenTests() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "leak_test.lua",
                """
                test("sets faults", function()
                  fault.inject{operation = "Converse", error = "AccessDeniedException"}
                  emulator.fault{operation = "Converse", error = "AccessDeniedException"}
                  emulator.respond{contains = "ping", text = "scripted pong"}
                  expect(#fault.list()).to_equal(1)
                  expect(#emulator.faults()).to_equal(1)
                end)
                test("sees none", function()
                  expect(#fault.list()).to_equal(0)
                  expect(#emulator.faults()).to_equal(0)
                  local r = bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "ping"}
                  expect(r.attempts).to_equal(1)
                  expect(r.text).never.to_equal("scripted pong")
                end)
                """)
            #expect(summary.failed == 0, "\(summary.problems)")
            #expect(h.injector.active.isEmpty)
            #expect(h.emulator.faults.isEmpty)
            #expect(h.emulator.responses.isEmpty)
        }
    }

    @Test("results carry each call's attempts and the injected faults; metrics summarise per test")
    func traces() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "trace_test.lua",
                """
                test("throttled then fine", function()
                  fault.inject{operation = "Converse", error = "ThrottlingException", retry_after_ms = 10, times = 2}
                  local r = bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hi"}
                  local m = metrics.summary()
                  expect(m.calls).to_equal(1)
                  expect(m.retries).to_equal(2)
                  expect(m.attempt_errors.ThrottlingException).to_equal(2)
                  expect(m.latency_ms.p50).to_be_greater_than(0)
                  expect(m.latency_ms.p99).to_be_at_least(m.latency_ms.p50)
                  expect(m.output_tokens).to_be_greater_than(0)
                  local inj = fault.injections()
                  expect(#inj).to_equal(2)
                  expect(inj[1].effect).to_equal("ThrottlingException")
                  expect(inj[1].model).to_equal("amazon.nova-micro-v1:0")
                  expect(r.attempt_log[1].wait_ms).to_be_close_to(10, 0.5)
                  bedrock.converse{model = "amazon.nova-lite-v1:0", messages = "again"}
                  local newest = metrics.calls(1)
                  expect(#newest).to_equal(1)
                  expect(newest[1].model).to_equal("amazon.nova-lite-v1:0")
                  expect(#metrics.calls()).to_equal(2)
                  expect(pcall(metrics.calls, -1)).to_equal(false)
                end)
                test("metrics start empty", function() expect(metrics.summary().calls).to_equal(0) end)
                """)
            #expect(summary.failed == 0, "\(summary.problems)")
            let traced = try #require(summary.result("throttled then fine"))
            #expect(traced.calls.count == 2)
            #expect(
                traced.calls.first?.attempts.map(\.errorCode) == ["ThrottlingException", "ThrottlingException", nil])
            #expect(traced.injections.count == 2)
            #expect(summary.result("metrics start empty")?.calls.isEmpty == true)
        }
    }

    @Test("metrics keep the newest calls once full, oldest first, and the summary covers those")
    func metricsRing() {
        let metrics = CallMetrics(capacity: 3)
        func call(_ n: Int) -> CallRecord {
            CallRecord(
                operation: "Converse", model: "m\(n)", region: "us-east-1", started: Date(),
                duration: .milliseconds(n), attempts: [], errorCode: nil, outputTokens: n)
        }
        for n in 1...2 { metrics.record(call(n)) }
        #expect(metrics.recorded.map(\.model) == ["m1", "m2"])
        for n in 3...7 { metrics.record(call(n)) }
        #expect(metrics.recorded.map(\.model) == ["m5", "m6", "m7"])
        #expect(metrics.summary.calls == 3)
        #expect(metrics.summary.outputTokens == 5 + 6 + 7)
        metrics.reset()
        #expect(metrics.recorded.isEmpty)
        metrics.record(call(8))
        #expect(metrics.recorded.map(\.model) == ["m8"])
    }

    @Test("TAP and JUnit documents describe the run")
    func formats() {
        let results = [
            TestCaseResult(file: "a_test.lua", name: "ok one", status: .passed, duration: .milliseconds(12)),
            TestCaseResult(
                file: "a_test.lua", name: "bad <two> & #3", status: .failed, message: "expected 1\ngot 2",
                errorCode: "ThrottlingException", duration: .milliseconds(5)),
            TestCaseResult(file: "b_test.lua", name: "later", status: .skipped, message: "needs AWS"),
        ]
        let summary = TestRunSummary(
            results: results, fileErrors: [("c_test.lua", "c_test.lua:1: syntax")],
            duration: .seconds(1), target: "emulator")
        #expect(summary.summaryLine == "1 passed, 2 failed, 1 skipped")
        let tap = TAPFormatter().document(for: summary)
        #expect(tap.hasPrefix("TAP version 13\n1..4\n"))
        #expect(tap.contains("not ok 1 - c_test.lua (file did not load)"))
        #expect(tap.contains("ok 2 - a_test.lua: ok one\n"))
        #expect(
            tap.contains("not ok 3 - a_test.lua: bad <two> & \\#3\n  ---\n  message: |\n    expected 1\n    got 2\n"))
        #expect(tap.contains("ok 4 - b_test.lua: later # SKIP needs AWS"))
        #expect(tap.hasSuffix("# 1 passed, 2 failed, 1 skipped\n"))

        let junit = JUnitFormatter().document(for: summary)
        #expect(junit.contains(#"<testsuite name="a_test.lua" tests="2" failures="1" skipped="0""#))
        #expect(junit.contains(#"name="bad &lt;two&gt; &amp; #3""#))
        #expect(junit.contains(#"<failure message="expected 1" type="ThrottlingException">expected 1"#))
        #expect(junit.contains(#"<skipped message="needs AWS"/>"#))
        #expect(junit.contains(#"<testcase classname="c_test" name="(load)""#))
        let parser = XMLParser(data: Data(junit.utf8))
        #expect(parser.parse(), "JUnit output must be well-formed XML")

        let footer = SummaryFormatter().footer(for: summary)
        #expect(footer.hasSuffix("1 passed, 2 failed, 1 skipped\n"))
        #expect(footer.contains("Failures:"))
    }

    @Test("JUnit: errors and timeouts are <error>, failed expectations <failure>, output in <system-out> (issue 18 §5)")
    func junitErrorsAndOutput() {
        var crashed = TestCaseResult(
            file: "a_test.lua", name: "crashes", status: .failed,
            message: "a_test.lua:3: attempt to index a nil value", duration: .milliseconds(1))
        crashed.failedByError = true
        crashed.output = "before the crash\n"
        var slow = TestCaseResult(
            file: "a_test.lua", name: "slow", status: .failed, message: "timed out after 1 ms",
            errorCode: "Timeout", duration: .milliseconds(1))
        slow.failedByError = true
        let wrong = TestCaseResult(
            file: "a_test.lua", name: "wrong", status: .failed,
            message: "a_test.lua:9: expectation failed: expected 1, got 2")
        let summary = TestRunSummary(results: [crashed, slow, wrong], duration: .seconds(1), target: "emulator")
        let junit = JUnitFormatter().document(for: summary)
        #expect(
            junit.contains(#"<error message="a_test.lua:3: attempt to index a nil value" type="Error">"#), "\(junit)")
        #expect(junit.contains(#"<error message="timed out after 1 ms" type="Timeout">"#))
        #expect(
            junit.contains(
                #"<failure message="a_test.lua:9: expectation failed: expected 1, got 2" type="AssertionFailure">"#))
        #expect(junit.contains("<system-out>before the crash\n</system-out>"))
        #expect(junit.contains(#"tests="3" failures="1" skipped="0""#) && junit.contains(#"errors="2">"#))
        #expect(XMLParser(data: Data(junit.utf8)).parse())
    }

    @Test("a test's kind of failure and its output reach the result; skip(name, fn) has a reason (issue 18 §5)")
    func failureKindsOutputAndSkipReasons() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "kinds_test.lua",
                """
                test("wrong", function() print("said"); expect(1).to_equal(2) end)
                test("crashes", function() local t = nil; return t.x end)
                skip("later", function() end)
                skip("needs AWS", function() end, "no credentials here")
                test("table error", function()
                  local x = 1
                  error({code = "Custom", message = "broke"})
                end)
                test("host error", function() json.decode("{bad") end)
                """)
            // A table error gets the line that raised it; a host error keeps its own, once.
            let table = summary.result("table error")?.message ?? ""
            #expect(table.hasSuffix("kinds_test.lua:7: Custom: broke"), "\(table)")
            let host = summary.result("host error")?.message ?? ""
            #expect(host.components(separatedBy: "kinds_test.lua:9:").count == 2, "\(host)")
            #expect(summary.result("wrong")?.failedByError == false)
            #expect(summary.result("wrong")?.output == "said\n")
            #expect(summary.result("crashes")?.failedByError == true)
            #expect(summary.result("later")?.message == "marked skip(name, fn) in the file")
            #expect(summary.result("needs AWS")?.message == "no credentials here")
        }
    }

    @Test("discovery finds *_test.lua files recursively, in order, and names bad paths")
    func discovery() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-discovery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent(".hidden"), withIntermediateDirectories: true)
        for name in ["b_test.lua", "a_test.lua", "helper.lua", "sub/c_test.lua", ".hidden/d_test.lua"] {
            try Data().write(to: root.appendingPathComponent(name))
        }
        let found = try TestDiscovery.files(in: [root.path])
        #expect(found.map { ($0 as NSString).lastPathComponent } == ["a_test.lua", "b_test.lua", "c_test.lua"])
        let explicit = root.appendingPathComponent("helper.lua").path
        #expect(try TestDiscovery.files(in: [explicit]) == [explicit])
        #expect(throws: TestDiscoveryError.self) {
            try TestDiscovery.files(in: [root.appendingPathComponent("nope").path])
        }
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: TestDiscoveryError.self) { try TestDiscovery.files(in: [empty.path]) }
    }
}
