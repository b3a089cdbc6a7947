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
            quarry                   the REPL in a terminal; piped input runs as a script:
                                     echo 'print(1 + 1)' | quarry
            quarry -e CODE           run CODE and exit (--json prints what it returns)
            quarry run FILE [ARGS]   run a script ('-' reads it from stdin); scripts read
                                     stdin with stdin.read("a") and stdin.lines()
            quarry test [PATHS]      run resilience tests (*_test.lua)
            quarry emulator          run the local Bedrock emulator until interrupted
            quarry batch ...         Bedrock batch inference jobs: submit, status,
                                     results, stop, list

            Host flags (--quiet, --region, --max-seconds, ...) go before or after
            the subcommand. Limits of run, -e and test: 600 s wall clock,
            10000000000 instructions (about a minute of plain Lua), 64 MiB memory,
            1 MiB output (--max-seconds, --max-instructions, --max-memory,
            --max-output). Apps that embed Quarry keep its strict defaults.
            Without AWS credentials, calls go to a built-in Bedrock emulator.
            """,
        version: "quarry \(quarryVersion)",
        subcommands: [
            REPLCommand.self, RunCommand.self, TestCommand.self, EmulatorCommand.self, AuditCommand.self,
            BatchCommand.self,
        ],
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
        let arguments = CommandLineOrder.rearranged(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure, arguments.first == "batch", let wait = arguments.firstIndex(of: "--wait"),
                wait + 1 < arguments.count, Double(arguments[wait + 1]) != nil
            {
                // `--wait S` was the poll interval before `--wait` came to mean "to the end".
                Terminal.standardError(
                    "Error: --wait takes no value: it waits for the job to end; "
                        + "set the seconds between status checks with --poll \(arguments[wait + 1])\n")
                Foundation.exit(2)
            }
            if code == .validationFailure {
                // With no subcommand named, the error is the root's: show quarry's own usage,
                // not that of the default subcommand (`repl`) ArgumentParser fell back to.
                let named = arguments.first.map(CommandLineOrder.subcommands.contains) ?? false
                let text = named ? fullMessage(for: error) : rootMessage(for: error)
                Terminal.standardError(TerminalText.escaped(text) + "\n")
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

extension QuarryCommand {
    /// Quarry's own usage, for errors in a command line that names no subcommand.
    static let rootUsage = """
        Usage: quarry [<options>] [-e <code>]
               quarry <subcommand> [<options>] ...   (subcommands: run, test, emulator, audit, batch)
          See 'quarry --help' for more information.
        """

    /// The error's message and quarry's own usage (an empty message, for `--help`
    /// and the like, leaves ArgumentParser's full text).
    static func rootMessage(for error: any Error) -> String {
        let message = self.message(for: error)
        guard !message.isEmpty else { return fullMessage(for: error) }
        return "Error: \(message)\n\(rootUsage)"
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

    @Option(name: .customShort("e"), help: ArgumentHelp("Run this Lua code and exit.", valueName: "code"))
    var code: String?
    @Flag(help: "With -e or piped input: print the return value as JSON.") var json = false
    @OptionGroup var host: HostOptions

    func run() async throws {
        try host.checkAudit()
        if let code {
            try await ScriptRunner(options: host, printJSON: json)
                .run(source: Array(code.utf8), name: "=(command line)", script: "-e", arguments: [])
            return
        }
        if isatty(STDIN_FILENO) == 0 {
            let source: [UInt8]
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

/// Puts the arguments in the order ArgumentParser reads them: host flags given before
/// the subcommand (`quarry --quiet run x.lua`) move after it, and a negative number
/// given as an option's value (`--max-seconds -1`) is attached to its option
/// (`--max-seconds=-1`) so validation can say what is wrong with it.
enum CommandLineOrder {
    /// The subcommands flags may precede.
    static let subcommands: Set<String> = ["run", "test", "emulator", "audit", "repl", "batch"]
    /// `quarry batch`'s subcommands (they, not `batch`, take the host options).
    static let batchSubcommands: Set<String> = ["submit", "status", "results", "stop", "list"]
    /// The options that take no value (so the word after them is not their value).
    static let flags: Set<String> = [
        "--quiet", "--audit-content", "--json", "--csv", "--tls", "-h", "--help", "--version", "--wait",
        "--results",
    ]

    static func rearranged(_ arguments: [String]) -> [String] {
        var (leading, index) = options(arguments, from: 0)
        guard index < arguments.count, subcommands.contains(arguments[index]) else {
            return leading + arguments[index...]
        }
        let subcommand = arguments[index]
        let (own, next) = options(arguments, from: index + 1)
        leading += own
        // `batch` has its own subcommands, which hold the host options: flags given before
        // `batch` (`quarry --quiet batch list`) go after the batch subcommand.
        if subcommand == "batch", next < arguments.count, batchSubcommands.contains(arguments[next]) {
            return [subcommand, arguments[next]] + leading + arguments[(next + 1)...]
        }
        return [subcommand] + leading + arguments[next...]
    }

    /// The options from `start` up to the first word that is neither an option nor an
    /// option's value (or `--`), with negative numbers attached to their option.
    static func options(_ arguments: [String], from start: Int) -> (options: [String], end: Int) {
        var out: [String] = []
        var index = start
        while index < arguments.count {
            let word = arguments[index]
            guard word != "--", word.hasPrefix("-"), word.count > 1, !isNumber(word) else { break }
            index += 1
            guard !flags.contains(word), !word.contains("="), index < arguments.count else {
                out.append(word); continue
            }
            let value = arguments[index]
            if isNumber(value), word.hasPrefix("--") {
                out.append(word + "=" + value)
                index += 1
            } else if !value.hasPrefix("-") {
                out += [word, value]
                index += 1
            } else {
                out.append(word)
            }
        }
        return (out, index)
    }

    static func isNumber(_ word: String) -> Bool {
        word.count > 1 && Double(word) != nil
    }
}
