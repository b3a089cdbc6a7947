import Foundation
import Testing

/// `quarry test` through the real binary against the built-in emulator: the shipped
/// resilience suites pass, a failing resilience test fails the run, and the TAP, JUnit
/// and HTML outputs are written.
@Suite struct TestCommandTests {
    static var suites: String { HostCLITests.packageRoot.appendingPathComponent("scripts/resilience").path }

    /// A fresh directory with `files` (name → Lua source).
    static func directory(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, source) in files {
            try Data(source.utf8).write(to: dir.appendingPathComponent(name))
        }
        return dir
    }

    static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test("the shipped resilience suites pass against the emulator")
    func shippedSuitesPass() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.suites).filter {
            $0.hasSuffix("_test.lua")
        }
        #expect(files.count >= 6)
        let r = try QuarryProcess.run(["test", "--quiet", Self.suites], environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let last = Self.lastLine(r.stdout)
        #expect(last.hasSuffix("passed, 0 failed"), "\(last)")
        let passed = Int(last.split(separator: " ").first ?? "") ?? 0
        #expect(passed >= 20)
        for name in [
            "throttling storm", "5xx burst", "stream cut mid-answer", "region outage", "circuit breaker",
            "quota exhaustion under parallel",
        ] {
            #expect(r.stdout.contains("✓ \(name) ›"), "no passing test from '\(name)'")
        }
        #expect(!r.stdout.contains("✗"))
        print("quarry test scripts/resilience: \(last)")
    }

    static let failingSuite = """
        -- A resilience test that must fail: it expects the call to survive a storm longer
        -- than the client's attempts, with no retry policy around it.
        describe("deliberately failing", function()
          test("survives a throttling storm without a retry policy", function()
            fault.inject{operation = "Converse", error = "ThrottlingException", retry_after_ms = 5}
            local r = bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hi"}
            expect(r.text).to_contain("hi")
          end)
          test("a passing neighbour", function()
            expect(bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hello"}.text).to_contain("hello")
          end)
          skip("not yet", function() end)
        end)
        """

    @Test("a failing resilience test fails the run with exit 1 and is named in the output")
    func failingTestFailsTheRun() throws {
        let dir = try Self.directory(["storm_test.lua": Self.failingSuite])
        let r = try QuarryProcess.run(["test", "--quiet", dir.path], environment: HostCLITests.noAWS)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(Self.lastLine(r.stdout) == "1 passed, 1 failed, 1 skipped")
        #expect(r.stdout.contains("✗ deliberately failing › survives a throttling storm without a retry policy"))
        #expect(r.stdout.contains("ThrottlingException"))
        // The rule from the failing test must not leak into its neighbour.
        #expect(r.stdout.contains("✓ deliberately failing › a passing neighbour"))
    }

    @Test("--format tap and --format junit --output describe the same run")
    func tapAndJUnit() throws {
        let dir = try Self.directory(["storm_test.lua": Self.failingSuite])
        let tap = try QuarryProcess.run(
            ["test", "--quiet", "--format", "tap", dir.path], environment: HostCLITests.noAWS)
        #expect(tap.status == 1)
        let lines = tap.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "TAP version 13")
        #expect(lines.contains("1..3"))
        #expect(lines.contains { $0.hasPrefix("not ok 1 - ") && $0.contains("survives a throttling storm") })
        #expect(lines.contains { $0.hasPrefix("ok 2 - ") })
        #expect(lines.contains { $0.hasPrefix("ok 3 - ") && $0.contains("# SKIP") })
        #expect(lines.last == "# 1 passed, 1 failed, 1 skipped")

        let xmlPath = dir.appendingPathComponent("junit.xml").path
        let report = dir.appendingPathComponent("report.html").path
        let junit = try QuarryProcess.run(
            ["test", "--quiet", "--format", "junit", "--output", xmlPath, "--report", report, dir.path],
            environment: HostCLITests.noAWS)
        #expect(junit.status == 1)
        #expect(Self.lastLine(junit.stdout) == "1 passed, 1 failed, 1 skipped")
        let xml = try String(contentsOfFile: xmlPath, encoding: .utf8)
        // The failing test fails by the call's ThrottlingException: a runtime error.
        #expect(xml.contains(#"<testsuites name="quarry test" tests="3" failures="0" skipped="1""#))
        #expect(xml.contains(#"errors="1">"#))
        #expect(xml.contains("<error message=") && xml.contains(#"type="ThrottlingException""#), "\(xml)")
        #expect(xml.contains("<skipped message="))
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg class=\"timeline\""))
        #expect(!html.contains("<script") && !html.contains(" src=") && !html.contains("<link"))
    }

    @Test("usage errors: unknown format, a path with no tests")
    func usageErrors() throws {
        let bad = try QuarryProcess.run(["test", "--format", "xml", Self.suites], environment: HostCLITests.noAWS)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--format must be summary, tap or junit"))
        let empty = try Self.directory([:])
        let none = try QuarryProcess.run(["test", empty.path], environment: HostCLITests.noAWS)
        #expect(none.status == 1)
        #expect(none.stderr.contains("no *_test.lua files under"))
        #expect(none.stderr.contains("no test ran"))
    }

    @Test("a run that selects no test fails and says so (issue 18 §5)")
    func noTestSelected() throws {
        let filtered = try QuarryProcess.run(
            ["test", "--filter", "zzz-no-such-test", Self.suites], environment: HostCLITests.noAWS)
        #expect(filtered.status == 1, "\(filtered.stdout)\(filtered.stderr)")
        #expect(
            filtered.stderr.contains("--filter 'zzz-no-such-test' matched no test: no test ran"), "\(filtered.stderr)")
        let one = try Self.directory(["one_test.lua": "test('only', function() expect(1).to_equal(1) end)"])
        let single = try QuarryProcess.run(["test", one.path], environment: HostCLITests.noAWS)
        #expect(single.status == 0)
        #expect(single.stdout.contains("Ran 1 test in"), "\(single.stdout)")
    }

    @Test("counts add up when a file does not load (issue 18 §5)")
    func countsAddUpWithALoadError() throws {
        let dir = try Self.directory([
            "a_test.lua": """
            test('one', function() expect(1).to_equal(1) end)
            test('two', function() expect(1).to_equal(2) end)
            skip('three', function() end)
            """,
            "b_test.lua": "test('broken', function() end\n",
        ])
        let r = try QuarryProcess.run(["test", "--quiet", dir.path], environment: HostCLITests.noAWS)
        #expect(r.status == 1)
        #expect(Self.lastLine(r.stdout) == "1 passed, 2 failed, 1 skipped", "\(r.stdout)")
        #expect(r.stdout.contains("Ran 3 tests and 1 file that did not load in "), "\(r.stdout)")
    }

    @Test("--output with the default format writes the summary (issue 18 §5)")
    func summaryOutputFile() throws {
        let dir = try Self.directory(["a_test.lua": "test('one', function() expect(1).to_equal(1) end)"])
        let file = dir.appendingPathComponent("summary.txt").path
        let r = try QuarryProcess.run(["test", "--quiet", "--output", file, dir.path], environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        let written = try String(contentsOfFile: file, encoding: .utf8)
        #expect(written.contains("✓ one ("), "\(written)")
        #expect(written.contains("Ran 1 test in"))
        #expect(Self.lastLine(written) == "1 passed, 0 failed")
    }

    @Test("unwritable --output and --report paths are refused before any test runs (issue 18 §5)")
    func unwritablePathsAreRefusedFirst() throws {
        let dir = try Self.directory(["a_test.lua": "test('one', function() print('TEST-RAN') end)"])
        let missing = dir.appendingPathComponent("no-such-folder/out.xml").path
        for flag in ["--output", "--report"] {
            let r = try QuarryProcess.run(
                ["test", "--quiet", "--format", "junit", flag, missing, dir.path],
                environment: HostCLITests.noAWS)
            #expect(r.status == 2, "\(flag): \(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("\(flag) \(missing): the folder"), "\(r.stderr)")
            #expect(!r.stderr.contains("TEST-RAN") && !r.stdout.contains("TEST-RAN"))
        }
        let r = try QuarryProcess.run(
            ["test", "--quiet", "--output", dir.path, dir.path], environment: HostCLITests.noAWS)
        #expect(r.status == 2)
        #expect(r.stderr.contains("is a directory"))
    }

    @Test("on a terminal, the progress line is cleared before a test's own output (issue 18 §5)")
    func progressLineIsClearedBeforeOutput() throws {
        let dir = try Self.directory(["a_test.lua": "test('talks', function() print('HELLO-FROM-TEST') end)"])
        var env = HostCLITests.noAWS
        env["TERM"] = "xterm-256color"
        let terminal = try PseudoTerminal(arguments: ["test", "--quiet", dir.path], environment: env)
        try terminal.waitFor("passed, 0 failed")
        _ = terminal.waitForExit()
        let raw = terminal.rawTranscript
        #expect(raw.contains("\r\u{1B}[KHELLO-FROM-TEST"), "\(raw.debugDescription)")
        #expect(!raw.contains("…HELLO-FROM-TEST"))
    }

    @Test("emulator-side and client-side stream = \"truncate\" give the same code, IncompleteStream (issue 18 §5)")
    func truncateMeansOneThing() throws {
        let dir = try Self.directory([
            "cut_test.lua": """
            local function story()
              return bedrock.stream{model = "anthropic.claude-3-haiku-20240307-v1:0",
                                    messages = "Tell me a story about a quarry", stream_retry = "fail"}:collect()
            end
            test("client side", function()
              fault.inject{operation = "ConverseStream", stream = "truncate", after_events = 2, times = 1}
              local ok, e = pcall(story)
              expect(ok).to_equal(false)
              expect(e.code).to_equal("IncompleteStream")
            end)
            test("emulator side", function()
              emulator.fault{operation = "ConverseStream", stream = "truncate", after_events = 2, times = 1}
              local ok, e = pcall(story)
              expect(ok).to_equal(false)
              expect(e.code).to_equal("IncompleteStream")
            end)
            """
        ])
        let r = try QuarryProcess.run(["test", "--quiet", dir.path], environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(Self.lastLine(r.stdout) == "2 passed, 0 failed", "\(r.stdout)")
    }
}
