import Foundation
import Testing

/// Runs the built `quarry` binary as a user would.
@Suite struct CLIVersionTests {
    @Test func versionAndHelpWork() throws {
        let version = try QuarryProcess.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("quarry 0."))
        let help = try QuarryProcess.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE"))
    }
}
