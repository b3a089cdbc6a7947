import Foundation
import Testing

/// Issue 18, wording a new user met, through the real `quarry` binary: a short key id's
/// mask, where a bad region came from, quarry's own usage for a root-level error, a script
/// from stdin named as such, and one wording for the memory limit.
@Suite struct NewcomerWordingTests {
    /// No AWS configuration but the given variables (a fresh HOME).
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        HostCLITests.noAWS.merging(extra) { $1 }
    }

    static let shortKey = [
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value", "AWS_REGION": "us-east-1",
    ]

    @Test("a short key id is masked to its first character and length, never the secret")
    func shortKeyIdsShowSomethingUseful() throws {
        let r = try QuarryProcess.run(
            ["--target", "aws", "-e", "print(bedrock.identity().access_key_id)"],
            environment: Self.environment(Self.shortKey))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "t… (4 characters)\n", "\(r.stdout)")
        #expect(!(r.stdout + r.stderr).contains("s3cr3t-value"))
        // A real key id keeps the AKIA…WXYZ form.
        let real = try QuarryProcess.run(
            ["--target", "aws", "-e", "print(bedrock.identity().access_key_id)"],
            environment: Self.environment(Self.shortKey.merging(["AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"]) { $1 }))
        #expect(real.stdout == "AKIA…MPLE\n", "\(real.stdout)\(real.stderr)")
    }

    @Test("a malformed region names where it came from: the flag, AWS_REGION or a profile")
    func badRegionNamesItsSource() throws {
        let keys = ["AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"]
        let flag = try QuarryProcess.run(
            ["--target", "aws", "--region", "Bad_Region", "-e", "print(1)"], environment: Self.environment(keys))
        #expect(flag.status == 2)
        #expect(
            flag.stderr.contains("invalid region from the --region flag: 'Bad_Region' is not a region name"),
            "\(flag.stderr)")
        #expect(!flag.stderr.contains("from code"))
        let variable = try QuarryProcess.run(
            ["--target", "aws", "-e", "print(1)"],
            environment: Self.environment(keys.merging(["AWS_REGION": "Bad_Region"]) { $1 }))
        #expect(variable.stderr.contains("invalid region from AWS_REGION: 'Bad_Region'"), "\(variable.stderr)")
    }

    @Test("an error in a command line naming no subcommand shows quarry's own usage")
    func rootErrorsShowQuarrysUsage() throws {
        let r = try QuarryProcess.run(["--bogus"], environment: Self.environment())
        #expect(r.status == 2)
        #expect(r.stderr.contains("Unknown option '--bogus'"), "\(r.stderr)")
        #expect(r.stderr.contains("Usage: quarry [<options>] [-e <code>]"), "\(r.stderr)")
        #expect(r.stderr.contains("See 'quarry --help'"))
        #expect(!r.stderr.contains("quarry repl"), "\(r.stderr)")
        // A subcommand's own error keeps that subcommand's usage.
        let run = try QuarryProcess.run(["run", "--bogus", "x.lua"], environment: Self.environment())
        #expect(run.status == 2)
        #expect(run.stderr.contains("quarry run"), "\(run.stderr)")
    }

    @Test("a script from stdin: empty input says so; errors and stdin.read name stdin")
    func scriptsFromStdinSaySo() throws {
        for arguments in [["run", "-"], ["--quiet"]] {
            let empty = try QuarryProcess.run(arguments, stdin: "", environment: Self.environment())
            #expect(empty.status == 2, "\(arguments)")
            #expect(empty.stderr.contains("no script on stdin"), "\(arguments): \(empty.stderr)")
            let garbage = try QuarryProcess.run(arguments + [], stdin: "garbage(\n", environment: Self.environment())
            #expect(garbage.status == 1)
            #expect(garbage.stderr.contains("stdin:"), "\(garbage.stderr)")
        }
        let reads = try QuarryProcess.run(
            ["run", "--quiet", "-"], stdin: "print(stdin.read('a'))\n", environment: Self.environment())
        #expect(reads.status == 1)
        #expect(reads.stderr.contains("stdin:1: NoInput"), "\(reads.stderr)")
        #expect(reads.stderr.contains("the script itself came from standard input"), "\(reads.stderr)")
    }

    @Test("requests in flight over the memory cap use the memory limit's one wording")
    func inFlightMemoryUsesTheOneWording() throws {
        // Calls stay in flight (the emulator stalls them) until their 1 s timeout: forty
        // 500 KB requests under a 6 MiB cap, each within the cap, not all of them at once.
        let source = """
            emulator.fault{operation = 'Converse', stall = true}
            local s = string.rep('word ', 100000)
            local items = {}
            for i = 1, 40 do items[i] = i end
            local _, errors = map(items, function()
              return bedrock.converse{model = 'amazon.nova-micro-v1:0', messages = s,
                inference = {max_tokens = 5}, timeout = 1}
            end, {concurrency = 40, settle = true})
            for i = 1, #items do
              local e = errors[i]
              if e and e.code == 'LimitExceeded' then print(e.message) return end
            end
            """
        let r = try QuarryProcess.run(
            ["--quiet", "--max-memory", "6", "-e", source], environment: Self.environment(["QUARRY_TARGET": "emulator"])
        )
        #expect(
            r.stdout.hasPrefix("sandbox limit: memory cap of 6291456 bytes reached (calls in flight hold"),
            "\(r.stdout)\(r.stderr)")
    }

    @Test("the examples' summaries say 1 turn and 1 prompt, not 1 turns and 1 prompts")
    func examplesUsePlurals() throws {
        let chat = try QuarryProcess.run(
            ["run", "--quiet", HostCLITests.example("chat.lua")], stdin: "hello there\n",
            environment: Self.environment())
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout.contains("-- 1 turn, 2 messages in history, "), "\(chat.stdout)")
        let batch = try QuarryProcess.run(
            ["run", "--quiet", HostCLITests.example("map_prompts.lua"), "one prompt"], environment: Self.environment())
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(batch.stdout.contains("-- 1 prompt, 0 failed, "), "\(batch.stdout)")
    }

    @Test("a directory given as the script and -e without code are named plainly")
    func badArgumentsAreNamedPlainly() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let run = try QuarryProcess.run(["run", directory], environment: Self.environment())
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot read script '\(directory)': it is a directory"), "\(run.stderr)")
        let e = try QuarryProcess.run(["-e"], environment: Self.environment())
        #expect(e.status == 2)
        #expect(e.stderr.contains("Missing value for '-e <code>'"), "\(e.stderr)")
    }

    @Test("a script's own bytes are kept: a string literal with bytes that are not UTF-8 runs unchanged")
    func scriptSourceIsBytes() throws {
        // print(#"<FF 00>") and write("<FF>"), from a file (with a shebang line) and from stdin.
        var source = Data("#!/usr/bin/env quarry\nprint(#\"".utf8)
        source.append(contentsOf: [0xFF, 0x00])
        source.append(contentsOf: Array("\")\nwrite(\"".utf8))
        source.append(0xFF)
        source.append(contentsOf: Array("\")\n".utf8))
        let path = try NewcomerPathTests.script("", name: "raw")
        try source.write(to: URL(fileURLWithPath: path))
        var expected = Data("2\n".utf8)
        expected.append(0xFF)
        let file = try NewcomerPathTests.run(["run", "--quiet", path], environment: Self.environment())
        #expect(file.status == 0, "\(file.stderr)")
        #expect(file.stdout == expected, "\(Array(file.stdout))")
        let piped = try NewcomerPathTests.run(["run", "--quiet", "-"], stdin: source, environment: Self.environment())
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == expected, "\(Array(piped.stdout))")
    }

    @Test("quarry test reports a tripped limit in the limit's one wording, said once")
    func testRunnerSaysTheLimitOnce() throws {
        let file = try NewcomerPathTests.script(
            "test('m', function() local s = ('x'):rep(1e9) end)\ntest('i', function() while true do end end)\n",
            name: "limits_test")
        let r = try QuarryProcess.run(
            ["test", "--quiet", "--max-instructions", "100000", file], environment: Self.environment())
        #expect(r.status == 1)
        #expect(r.stdout.contains("sandbox limit: memory cap of 67108864 bytes reached (string.rep"), "\(r.stdout)")
        #expect(r.stdout.contains("sandbox limit: instruction budget of 100000 exhausted"), "\(r.stdout)")
        #expect(!r.stdout.contains("sandbox limit (memory)") && !r.stdout.contains("sandbox limit (instructions)"))
    }
}
