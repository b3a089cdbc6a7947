import ArgumentParser
import Foundation
import Quarry

/// `quarry audit verify|summary FILE`: checks and reads the logs `--audit` writes.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check or summarize an audit log written with --audit.",
        subcommands: [AuditVerifyCommand.self, AuditSummaryCommand.self])

    /// Runs `body` on the file, exiting 2 with a clear message when it cannot be read.
    static func reading<T>(_ path: String, _ body: (URL) throws -> T) throws -> T {
        do {
            return try body(URL(fileURLWithPath: path))
        } catch {
            Terminal.standardError("quarry audit: \(error)\n")
            throw ExitCode(2)
        }
    }
}

/// `quarry audit verify FILE`: exit 0 when the chain is intact, 1 naming the first bad record.
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check the log's hash chain; exits 1 naming the first bad record.")

    @Argument(help: "The audit log.") var file: String

    func run() async throws {
        let report = try AuditCommand.reading(file) { try AuditVerifier.verify(fileAt: $0) }
        if let line = report.badLine, let problem = report.problem {
            Terminal.standardError("quarry audit: \(file): line \(line): \(problem)\n")
            throw ExitCode(1)
        }
        Terminal.standardOutput("\(file): \(report.records) records, chain intact\n")
    }
}

/// `quarry audit summary FILE`: calls, tokens and errors per principal, model and day.
struct AuditSummaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "Calls, tokens and errors per principal, model and day.")

    @Argument(help: "The audit log.") var file: String
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Print CSV.") var csv = false

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv cannot be used together") }
    }

    func run() async throws {
        let summary = try AuditCommand.reading(file) { try AuditSummary(contentsOf: $0) }
        for note in summary.notes { Terminal.standardError("quarry audit: \(file): \(note)\n") }
        Terminal.standardOutput(json ? summary.json : csv ? summary.csv : summary.text)
    }
}
