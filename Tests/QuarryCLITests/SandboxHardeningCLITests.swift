import Foundation
import Testing

/// Issue 16 through the real `quarry` binary, where the row is about the process:
/// a trapped conversion kills it (a signal), a crossing copied per reference blows its
/// resident memory, a flood of log lines fills its stderr.
@Suite struct SandboxHardeningCLITests {
    /// Every binding a script reaches with a number, called with every extreme number.
    static let extremesScript = """
        local V = { 0/0, math.huge, -math.huge, 1e300, -1e300, -0.0, 2^53 + 1, (1 << 53) + 1, 2^63,
                    math.maxinteger, math.mininteger, -1 }
        local nova = 'amazon.nova-micro-v1:0'
        local calls = {
          function(x) sleep(x) end,
          function(x) bedrock.converse{model = nova, messages = 'hi', timeout = x} end,
          function(x) bedrock.converse{model = nova, messages = 'hi', first_byte_timeout = x} end,
          function(x) bedrock.converse{model = nova, messages = 'hi', idle_timeout = x} end,
          function(x) bedrock.converse{model = nova, messages = 'hi', inference = {max_tokens = x}} end,
          function(x) bedrock.converse{model = nova, messages = 'hi', inference = {temperature = x}} end,
          function(x) bedrock.stream{model = nova, messages = 'hi', timeout = x} end,
          function(x) bedrock.invoke{model = nova, body = {max_tokens = x}, timeout = 1} end,
          function(x) bedrock.client{timeout = x} end,
          function(x) bedrock.client{retry = {max_attempts = x}} end,
          function(x) bedrock.list_async_invokes{max_results = x} end,
          function(x) map({1, 2}, function(i) return i end, {concurrency = x}) end,
          function(x) parallel(function() end, function() end, {concurrency = x}) end,
          function(x) json.encode(x) end,
          function(x) emulator.fault{error = 'ThrottlingException', times = x} end,
          function(x) emulator.fault{error = 'ThrottlingException', seconds = x} end,
          function(x) emulator.fault{latency_ms = x} end,
          function(x) emulator.fault{error = 'ThrottlingException', probability = x} end,
          function(x) resilience.retry{attempts = x} end,
          function(x) resilience.timeout(x) end,
          function(x) resilience.rate_limit{rate = x} end,
        }
        local n, validation = 0, 0
        for _, f in ipairs(calls) do
          for _, x in ipairs(V) do
            local ok, e = pcall(f, x)
            pcall(emulator.clear)
            n = n + 1
            if not ok and type(e) == 'table' and e.code == 'ValidationError' then validation = validation + 1 end
          end
        end
        print('survived ' .. n .. ' calls, ' .. validation .. ' validation errors')
        """

    @Test func extremeNumbersNeverKillTheProcess() throws {
        let r = try MeasuredProcess.run(["--quiet", "-e", Self.extremesScript], environment: HostCLITests.noAWS)
        #expect(r.signal == nil, "killed by signal \(r.signal ?? 0): \(r.stderr)")
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("survived 252 calls"), "\(r.stdout)")
    }

    /// `quarry test` adds `fault.inject` (with a client injector) and per-test timeouts.
    @Test func extremeNumbersInTestFilesNeverKillTheProcess() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-extremes-\(UUID().uuidString)_test.lua")
        try """
        local V = { 0/0, math.huge, -math.huge, 1e300, 2^63, math.maxinteger, math.mininteger, -0.0 }
        test("fault.inject takes every extreme", function()
          for _, key in ipairs({ 'seconds', 'times', 'retry_after_ms', 'probability', 'seed' }) do
            for _, x in ipairs(V) do
              pcall(fault.inject, { error = 'ThrottlingException', [key] = x })
              fault.clear()
            end
          end
          for _, x in ipairs(V) do
            pcall(fault.inject, { latency_ms = x }); fault.clear()
            pcall(fault.inject, { stream = 'drip', drip_ms = x }); fault.clear()
            pcall(fault.inject, { stream = 'cut', after_events = x }); fault.clear()
          end
        end)
        test("a huge timeout", function() end, { timeout = 1e300 })
        test("a NaN timeout", function() end, { timeout = 0/0 })
        """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try MeasuredProcess.run(["test", file.path], environment: HostCLITests.noAWS)
        #expect(r.signal == nil, "killed by signal \(r.signal ?? 0): \(r.stderr)")
        #expect(r.exitCode == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("'timeout' must be a finite number of seconds"), "\(r.stdout)")
    }

    /// A table of 1000 references to one 1 MiB string crossing to the host: copied per
    /// reference that is 1 GB of Swift strings under a 64 MiB cap. Now the process stays
    /// small and the script gets a memory limit error (exit 3).
    @Test func sharedStringReferencesKeepTheProcessSmall() throws {
        let setup = "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 1000 do t[i] = s end "
        for (crossing, exit) in [
            ("return json.encode(t)", Int32(3)),
            ("return bedrock.converse{model='amazon.nova-micro-v1:0', messages=t}", 3),
            ("return t", 3), ("error(t)", 1),
        ] {
            let r = try MeasuredProcess.run(
                ["--quiet", "--json", "--max-memory", "64", "-e", setup + crossing],
                environment: HostCLITests.noAWS)
            #expect(r.signal == nil, "\(crossing): killed by signal \(r.signal ?? 0)")
            #expect(r.exitCode == exit, "\(crossing): \(r.stderr)")
            // The memory limit's one wording, whether the crossing or the allocator hit it.
            if exit == 3 {
                #expect(
                    r.stderr.contains("sandbox limit: memory cap of 67108864 bytes reached ("),
                    "\(crossing): \(r.stderr)")
            }
            #expect(r.peakRSS < 400 << 20, "\(crossing): peak RSS \(r.peakRSS >> 20) MiB")
        }
    }

    /// A script whose one C call never reaches a hook (on this branch: `table.sort` of
    /// 100 000 references to one 16 MiB string, hours of comparisons) cannot hang the
    /// process past its deadline: exit 3, a `sandbox limit` message. (Once that sort is
    /// bounded itself, the deadline stops it first; either way the process ends.)
    static let stuckSort =
        "local s = ('x'):rep(1 << 20):rep(16) local t = {} for i = 1, 100000 do t[i] = s end table.sort(t) print('sorted')"

    @Test func aStuckCCallEndsTheProcessAfterTheDeadline() throws {
        let r = try MeasuredProcess.run(
            ["--quiet", "--max-seconds", "1", "-e", Self.stuckSort],
            environment: HostCLITests.noAWS, killAfter: .seconds(60))
        #expect(!r.timedOut, "still running after 60 s")
        #expect(r.exitCode == 3, "\(r.stderr)")
        #expect(r.stderr.contains("sandbox limit: "), "\(r.stderr)")
        if r.stderr.contains("did not stop") {
            #expect(
                r.stderr.contains(
                    "quarry: sandbox limit: the script did not stop within 2 s of its deadline; the process was ended"))
        }
    }

    @Test func aStuckCCallEndsTheProcessAfterCtrlC() throws {
        let r = try MeasuredProcess.run(
            ["--quiet", "--max-seconds", "600", "-e", Self.stuckSort],
            environment: HostCLITests.noAWS, interruptAfter: .milliseconds(1500),
            killAfter: .seconds(60))
        #expect(!r.timedOut, "still running 60 s after Ctrl-C")
        #expect(r.exitCode == 3 || r.exitCode == 130, "\(r.stderr)")
        if r.stderr.contains("did not stop") {
            #expect(
                r.stderr.contains("did not stop within 2 s of being interrupted; the process was ended"), "\(r.stderr)")
        }
    }

    /// `stdin.read("a")` stops reading at the memory cap instead of holding all of it.
    @Test func readingAllOfStandardInputStopsAtTheMemoryCap() throws {
        // From a file: the process stops reading early, which would break a pipe.
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-stdin-\(UUID().uuidString)")
        try String(repeating: String(repeating: "y", count: 1023) + "\n", count: 3 << 10)
            .write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let r = try MeasuredProcess.run(
            [
                "--quiet", "--max-memory", "1", "-e",
                "local ok, e = pcall(stdin.read, 'a') print(ok, e.code, e.message)",
            ],
            environment: HostCLITests.noAWS, stdinFile: input.path)
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(
            r.stdout
                == "false\tLimitExceeded\tstdin.read: sandbox limit: memory cap of 1048576 bytes reached (the input is larger)\n",
            "\(r.stdout)")
    }

    /// Row 9: 16 MiB log lines in a loop under `--max-output 1024`.
    @Test func logFloodStopsAtTheOutputLimit() throws {
        let r = try MeasuredProcess.run(
            [
                "--quiet", "--max-output", "1024", "-e",
                "for i = 1, 16 do log.info(('x'):rep(1 << 20):rep(16)) end",
            ],
            environment: HostCLITests.noAWS)
        #expect(r.signal == nil)
        #expect(r.exitCode == 3, "\(r.stderr.prefix(500))")
        #expect(r.stderr.contains("sandbox limit: output limit of 1024 bytes reached"), "\(r.stderr.prefix(500))")
        #expect(r.stderr.utf8.count < 4096, "stderr has \(r.stderr.utf8.count) bytes")
    }
}
