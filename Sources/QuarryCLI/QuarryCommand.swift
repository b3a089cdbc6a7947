import ArgumentParser
import Quarry

/// `quarry`: the REPL, the script runner, the resilience-test runner and the emulator.
@main
struct QuarryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry",
        abstract: "Script Amazon Bedrock from sandboxed Lua 5.4.",
        version: "quarry \(quarryVersion)",
        subcommands: [REPLCommand.self, RunCommand.self],
        defaultSubcommand: REPLCommand.self
    )
}
