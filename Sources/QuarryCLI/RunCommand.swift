import ArgumentParser
import Foundation
import LuaSandbox

/// `quarry run FILE [ARGS…]`: runs a Lua script in a fresh sandbox.
///
/// Exit codes: 0 ok, 1 script error, 2 usage, 3 a sandbox limit was exceeded.
/// The Bedrock bindings arrive with the host (issue 7); today the script gets the
/// sandboxed standard library, `arg`, and the `sandbox` table describing its limits.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a Lua script in the sandbox.")

    @Argument(help: "The script to run.") var file: String
    @Argument(parsing: .captureForPassthrough, help: "Arguments passed to the script as `arg`.")
    var arguments: [String] = []

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            FileHandle.standardError.write(Data("quarry: cannot read script '\(file)'\n".utf8))
            throw ExitCode(2)
        }
        let source = String(decoding: data, as: UTF8.self)
        let limits = LuaLimits()
        let sandbox = try await LuaSandbox(limits: limits, output: { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        })
        let argTable: [LuaValue] = arguments.map { LuaValue.string($0) }
        let scriptName = file
        let limitsTable: [String: LuaValue] = [
            "memory_bytes": .integer(Int64(limits.memoryBytes)),
            "instructions": .integer(limits.instructions),
            "seconds": .number(limits.seconds),
            "output_bytes": .integer(Int64(limits.outputBytes)),
            "host_calls": .integer(limits.hostCalls),
        ]
        try await sandbox.withState { state in
            try state.setGlobal("arg", .array(argTable))
            // Like `lua`, arg[0] is the script; arg[1…] its arguments.
            try state.setGlobal("_QUARRY_SCRIPT", .string(scriptName))
            _ = try state.execute("arg[0] = _QUARRY_SCRIPT; _QUARRY_SCRIPT = nil", name: "=arg")
            try state.setGlobal("sandbox", .map(["limits": .map(limitsTable)]), readOnly: true)
        }
        do {
            _ = try await sandbox.run(source, name: "@" + file, limits: limits)
        } catch let error as LuaError {
            FileHandle.standardError.write(Data("quarry: \(error)\n".utf8))
            if case .limit = error { throw ExitCode(3) }
            throw ExitCode(1)
        }
    }
}
