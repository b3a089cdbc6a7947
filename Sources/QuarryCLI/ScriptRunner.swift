import ArgumentParser
import Foundation
import Quarry

/// Runs one script the way `quarry run`, `quarry -e` and piped stdin do: resolve the
/// target, make a host, run, report. Exit codes: 0 ok, 1 script error (with file:line),
/// 2 usage, 3 a sandbox limit was exceeded.
struct ScriptRunner {
    var options: HostOptions
    var printJSON = false
    /// Whether the script may read standard input (not when the script came from it).
    var readsStandardInput = true
    /// Most table elements one value crossing between Lua and the host may hold (nil:
    /// the sandbox's default); `quarry batch` raises it for a job's records.
    var crossingItems: Int? = nil
    /// Rewords an error message before it is shown (`quarry batch` speaks in flags).
    var reword: (@Sendable (String, QuarryTarget?) -> String)? = nil

    /// Runs `source`, the script's exact bytes, as chunk `name`.
    func run(source: [UInt8], name: String, script: String, arguments: [String]) async throws {
        try await run(source: source, name: name, script: script, shownArguments: arguments) { _ in
            arguments.map(LuaValue.string)
        }
    }

    /// Runs `source` with the values `values` gives for the resolved target as `...`.
    func run(
        source: [UInt8], name: String, script: String, values: @escaping @Sendable (QuarryTarget) -> [LuaValue]
    ) async throws {
        try await run(source: source, name: name, script: script, shownArguments: [], values)
    }

    private func run(
        source: [UInt8], name: String, script: String, shownArguments arguments: [String],
        _ makeArguments: @Sendable (QuarryTarget) -> [LuaValue]
    ) async throws {
        let target: QuarryTarget
        do {
            target = try await options.resolveTarget()
        } catch {
            Terminal.standardError("quarry: \(TerminalText.escaped(shown(Self.describe(error), nil)))\n")
            throw ExitCode(2)
        }
        defer { Task { await target.shutdown() } }
        let host = try await options.makeHost(
            target: target, input: readsStandardInput ? StandardInput.line : nil, crossingItems: crossingItems,
            noInputReason: readsStandardInput
                ? nil
                : "the script itself came from standard input, so there is no input left for it "
                    + "(save the script to a file and run quarry run FILE < input)")
        let interrupt = InterruptForwarder { host.cancel() }
        defer { interrupt.stop() }
        let values: [LuaValue]
        do {
            try await host.setArguments(script: script, arguments)
            values = try await host.evaluate(bytes: source, name: name, arguments: makeArguments(target))
        } catch {
            await host.shutdown()
            await target.shutdown()
            if case LuaError.limit(.unresponsive, let message) = error {
                // The Lua thread is stuck in one C call: nothing can stop it but ending
                // the process, which exiting now does.
                let what = message.contains("being interrupted") ? "being interrupted" : "its deadline"
                Terminal.standardError(
                    "quarry: sandbox limit: the script did not stop within "
                        + "\(Self.seconds(options.policy.limits.graceSeconds)) s of \(what); the process was ended\n")
                throw ExitCode(3)
            }
            // Error messages may carry a service's or a stream's text: escaped for the terminal.
            Terminal.standardError("quarry: \(TerminalText.escaped(shown(Self.describe(error), target)))\n")
            if case LuaError.limit = error { throw ExitCode(3) }
            if error is CancellationError { throw ExitCode(130) }
            throw ExitCode(1)
        }
        if printJSON {
            let value: LuaValue = values.isEmpty ? .null : (values.count == 1 ? values[0] : .array(values))
            do {
                Terminal.standardOutput(try LuaJSON.encode(value) + "\n")
            } catch {
                Terminal.standardError("quarry: --json: the script's return value \(error.message)\n")
                await host.shutdown()
                await target.shutdown()
                throw ExitCode(1)
            }
        }
        await host.shutdown()
        await target.shutdown()
    }

    private func shown(_ text: String, _ target: QuarryTarget?) -> String {
        reword.map { $0(text, target) } ?? text
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() && abs(s) < 1e9 ? String(Int(s)) : String(s)
    }

    /// A script error as one line: `file:line: code: message` for host errors, with a
    /// hint where a newcomer's first guess (the `io` library) does not exist here.
    static func describe(_ error: any Error) -> String {
        hinted(plainDescription(error))
    }

    /// `text` with a hint added where a newcomer's first guess (the `io` library) does
    /// not exist here (the REPL uses it for its errors too).
    static func hinted(_ text: String) -> String {
        if text.contains("(global 'io')") {
            return text + " (Quarry has no io library and no files: write(…) and print for output, "
                + "stderr.write(…) for errors, stdin.read(…) / stdin.lines() for input)"
        }
        return text
    }

    private static func plainDescription(_ error: any Error) -> String {
        switch error {
        case LuaError.runtime(let message, let value):
            if case .map(let m)? = value, let whereText = m["where"]?.stringValue {
                return "\(whereText): \(message)"
            }
            if case .tagged(_, .map(let m))? = value, let whereText = m["where"]?.stringValue {
                return "\(whereText): \(message)"
            }
            return message
        case let e as ScriptError: return e.description
        case is CancellationError: return "interrupted"
        default: return String(describing: error)
        }
    }
}

/// Turns SIGINT into `host.cancel()` while a script runs; a second Ctrl-C exits.
final class InterruptForwarder: @unchecked Sendable {
    private let source: any DispatchSourceSignal
    private var count = 0

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            self.count += 1
            if self.count > 1 { exit(130) }
            onInterrupt()
        }
        source.resume()
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
