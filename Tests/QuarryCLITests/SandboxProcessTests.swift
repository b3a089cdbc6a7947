import Foundation
import Testing

/// Issue 16 rows that are about the process, through the real `quarry` binary.
@Suite struct SandboxProcessTests {
    private func script(_ body: String) throws -> String { try QuarryProcess.script(body, prefix: "quarry-sandbox") }

    /// Row 1: `print` with a long first argument and another argument killed the process
    /// with SIGSEGV (exit 139 from a shell); the line must come out exactly.
    @Test func printWithALongFirstArgumentDoesNotCrash() throws {
        let path = try script(
            """
            local big = ("A"):rep(4096)
            for i = 1, 3 do print(big, "x", i) end
            print("survived")
            """)
        let result = try QuarryProcess.run(["run", path])
        #expect(result.status == 0, "\(result.stderr)")
        let line = String(repeating: "A", count: 4096) + "\tx\t"
        #expect(result.stdout == "\(line)1\n\(line)2\n\(line)3\nsurvived\n")
    }
}
