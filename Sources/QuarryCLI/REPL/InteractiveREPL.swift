import Foundation
import Quarry

/// Starts the interactive REPL for `quarry` with a terminal on stdin (`REPLCommand`
/// handles `-e` and piped stdin before it gets here).
enum InteractiveREPL {
    /// Runs a session on the host the options describe until `:quit` or Ctrl-D.
    ///
    /// The REPL widens two script defaults the user did not set on the command line,
    /// since Ctrl-C is its brake: the instruction budget per input (10 billion, about a
    /// minute of plain Lua) and the wall clock per input (600 s). The emulator notice is
    /// folded into the banner.
    static func run(options: HostOptions) async throws -> Int32 {
        var options = options
        options.maxInstructions = options.maxInstructions ?? REPLDefaults.instructions
        options.maxSeconds = options.maxSeconds ?? REPLDefaults.seconds
        options.quiet = true
        let environment = ProcessInfo.processInfo.environment
        let output = TerminalOutput(
            colour: TerminalOutput.wantsColour(
                environment: environment, stdoutIsTerminal: isatty(STDOUT_FILENO) != 0))
        let session = try REPLSession(
            output: output, historyFile: HistoryFile.fromEnvironment(environment),
            options: options,
            factory: { options, print, onCall in
                try await HostEngine(options: options, output: print, onCall: onCall)
            })
        return await session.run()
    }
}
