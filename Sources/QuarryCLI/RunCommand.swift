import ArgumentParser
import Foundation
import Quarry

/// `quarry run FILE [ARGS…]`: runs a Lua script in a fresh host.
///
/// The script gets `arg` like `lua` gives it (`arg[0]` the script, `...` the arguments),
/// the Bedrock API and the sandbox. `-` reads the script from standard input.
/// Exit codes: 0 ok, 1 script error (file:line), 2 usage, 3 a sandbox limit was exceeded.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a Lua script against Bedrock (or the built-in emulator).")

    @OptionGroup var host: HostOptions
    @Flag(help: "Print the script's return value as JSON on stdout.") var json = false
    @Argument(help: "The script to run ('-' for standard input).") var file: String
    @Argument(parsing: .captureForPassthrough, help: "Arguments passed to the script as `arg`.")
    var arguments: [String] = []

    func run() async throws {
        try host.checkAudit()
        let source: [UInt8]
        do {
            source = try ScriptSource.read(path: file == "-" ? nil : file)
        } catch {
            Terminal.standardError("quarry: \(error)\n")
            throw ExitCode(2)
        }
        try await ScriptRunner(options: host, printJSON: json, readsStandardInput: file != "-")
            .run(
                source: Self.strippingShebang(source), name: file == "-" ? "=stdin" : "@" + file,
                script: file, arguments: Self.scriptArguments(arguments))
    }

    /// The script's arguments: a `--` right after the file only ends quarry's own
    /// options (`quarry run x.lua -- -v`), so it is not passed on.
    static func scriptArguments(_ arguments: [String]) -> [String] {
        arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
    }

    /// Like `lua`, a first line starting with `#` is skipped (kept as an empty line so
    /// line numbers stay right).
    static func strippingShebang(_ source: [UInt8]) -> [UInt8] {
        guard source.first == UInt8(ascii: "#") else { return source }
        guard let newline = source.firstIndex(of: UInt8(ascii: "\n")) else { return [] }
        return Array(source[newline...])
    }
}
