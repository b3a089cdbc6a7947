import ArgumentParser
import Foundation
import LuaSandbox

/// `quarry` / `quarry repl`: the interactive session, or a piped script.
///
/// With a terminal on stdin it opens the REPL; with stdin piped or redirected it runs
/// stdin as one script (no prompts, no banner) and exits like `quarry run`:
/// 0 ok, 1 script error, 3 a limit was exceeded.
struct REPLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Interactive Lua session (the default); runs stdin as a script when it is piped.")

    @Option(help: "AWS region for Bedrock calls.") var region: String?
    @Option(help: "AWS profile for credentials.") var profile: String?
    @Option(help: "Bedrock Runtime endpoint URL (overrides the region's).") var endpoint: String?
    @Flag(help: "Use the local emulator even when AWS credentials are configured.") var emulator = false

    func run() async throws {
        let settings = TargetSettings(region: region, profile: profile, endpoint: endpoint, forceEmulator: emulator)
        let environment = ProcessInfo.processInfo.environment
        if isatty(STDIN_FILENO) == 0 {
            let status = await PipedScript.run(settings: settings, factory: REPLEngines.factory)
            if status != 0 { throw ExitCode(status) }
            return
        }
        let output = TerminalOutput(colour: TerminalOutput.wantsColour(
            environment: environment, stdoutIsTerminal: isatty(STDOUT_FILENO) != 0))
        let session = try REPLSession(output: output, historyFile: HistoryFile.fromEnvironment(environment),
                                      target: settings, factory: REPLEngines.factory)
        let status = await session.run()
        if status != 0 { throw ExitCode(status) }
    }
}

/// Which engine the CLI's sessions run on.
enum REPLEngines {
    /// A fresh engine for a target.
    static let factory: REPLEngineFactory = { _, output in
        try await SandboxEngine(output: output)
    }
}

/// Runs piped stdin as one script with no prompts.
enum PipedScript {
    /// Reads all of stdin, runs it as chunk `stdin`, prints errors to stderr; returns
    /// the exit status (0, 1 script error, 3 limit).
    static func run(settings: TargetSettings, factory: REPLEngineFactory) async -> Int32 {
        let source = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let output = TerminalOutput(colour: false)
        let engine: any REPLEngine
        do {
            engine = try await factory(settings, { output.script($0) })
        } catch {
            TerminalOutput.write("quarry: cannot start: \(error)\n", to: STDERR_FILENO)
            return 1
        }
        do {
            _ = try await engine.evaluate(source, name: "=stdin")
            await engine.shutdown()
            return 0
        } catch let error as LuaError {
            TerminalOutput.write("quarry: \(error)\n", to: STDERR_FILENO)
            await engine.shutdown()
            if case .limit = error { return 3 }
            return 1
        } catch {
            TerminalOutput.write("quarry: \(error)\n", to: STDERR_FILENO)
            await engine.shutdown()
            return 1
        }
    }
}
