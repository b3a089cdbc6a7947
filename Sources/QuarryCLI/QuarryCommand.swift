import ArgumentParser
import Foundation
import Logging
import Quarry

/// `quarry`: the REPL, the script runner, the resilience-test runner and the emulator.
@main
struct QuarryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry",
        abstract: "Script Amazon Bedrock from sandboxed Lua 5.4.",
        discussion: """
            With no arguments, opens the REPL (or runs standard input as a script when it is not a terminal).
            Without AWS credentials, calls go to a built-in Bedrock emulator on 127.0.0.1.
            """,
        version: "quarry \(quarryVersion)",
        subcommands: [REPLCommand.self, RunCommand.self, TestCommand.self, EmulatorCommand.self, AuditCommand.self],
        defaultSubcommand: REPLCommand.self
    )

    /// Logging to stderr (level from `QUARRY_LOG_LEVEL`), usage errors as exit code 2.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["QUARRY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .info
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Terminal.standardError(TerminalText.escaped(fullMessage(for: error)) + "\n")
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// `quarry` with no subcommand: `-e CODE`, a script piped on stdin, or the REPL.
struct REPLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl", abstract: "The interactive REPL (the default); also runs -e CODE or piped stdin.",
        discussion: """
            In the interactive REPL each input may run \(REPLDefaults.instructions / 1_000_000_000) billion \
            instructions (\(REPLDefaults.instructions)) and \(Int(REPLDefaults.seconds)) s of wall clock unless \
            --max-instructions / --max-seconds say otherwise (Ctrl-C stops an input at once; :limits changes \
            them in the session). -e CODE and piped stdin run under the script limits below.
            """)

    @Option(name: .customShort("e"), help: "Run this Lua code and exit.") var code: String?
    @Flag(help: "With -e or piped input: print the return value as JSON.") var json = false
    @OptionGroup var host: HostOptions

    func run() async throws {
        try host.checkAudit()
        if let code {
            try await ScriptRunner(options: host, printJSON: json)
                .run(source: code, name: "=(command line)", script: "-e", arguments: [])
            return
        }
        if isatty(STDIN_FILENO) == 0 {
            let source: String
            do { source = try ScriptSource.read(path: nil) } catch {
                Terminal.standardError("quarry: \(error)\n")
                throw ExitCode(2)
            }
            try await ScriptRunner(options: host, printJSON: json, readsStandardInput: false)
                .run(source: RunCommand.strippingShebang(source), name: "=stdin", script: "-", arguments: [])
            return
        }
        let status = try await InteractiveREPL.run(options: host)
        if status != 0 { throw ExitCode(status) }
    }
}
