import Foundation
import Testing

/// `quarry run` through the real binary: output, `arg`, and the documented exit codes.
@Suite struct RunCommandTests {
    private func script(_ body: String) throws -> String { try QuarryProcess.script(body, prefix: "quarry-run") }

    @Test func runsAScriptWithArguments() throws {
        let path = try script("print(_VERSION, arg[1], #arg)")
        let result = try QuarryProcess.run(["run", path, "hello"])
        #expect(result.status == 0)
        #expect(result.stdout == "Lua 5.4\thello\t1\n")
    }

    @Test func scriptErrorExitsOneWithFileAndLine() throws {
        let path = try script("local x = 1\nerror('boom')")
        let result = try QuarryProcess.run(["run", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains(":2: boom"))
    }

    @Test func limitExitsThreeAndEscapesAreClosed() throws {
        let loop = try QuarryProcess.run(["run", "--max-instructions", "1000000", try script("while true do end")])
        #expect(loop.status == 3)
        #expect(loop.stderr.contains("instruction budget"))
        let escape = try QuarryProcess.run(["run", try script("return io.open('/etc/passwd')")])
        #expect(escape.status == 1)
    }

    @Test func missingFileIsAUsageError() throws {
        let result = try QuarryProcess.run(["run", "/nonexistent/quarry-script.lua"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read script"))
        #expect(result.stderr.contains("no such file"), "the reason is said: \(result.stderr)")
    }

    /// A small instruction budget limits the script, not the host's own set-up (the
    /// prelude, the per-run environment): it used to fail before the script ran, with
    /// exit 1 instead of a sandbox limit's 3.
    @Test func aSmallInstructionBudgetLimitsOnlyTheScript() throws {
        let ok = try QuarryProcess.run(["-e", "print(1 + 1)", "--max-instructions", "1000"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == "2\n")
        let loop = try QuarryProcess.run(["-e", "while true do end", "--max-instructions", "1000"])
        #expect(loop.status == 3, "\(loop.stderr)")
        #expect(loop.stderr.contains("instruction budget of 1000"))
    }
}
