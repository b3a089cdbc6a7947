import Foundation
import Quarry

/// One REPL command (`:name args`).
struct REPLCommandSpec: Sendable {
    /// The name without its colon.
    var name: String
    /// Other names it answers to.
    var aliases: [String] = []
    /// How to call it, for `:help`.
    var usage: String
    /// What it does, for `:help`.
    var summary: String
    /// Runs it in a session with its arguments.
    var run: @Sendable (REPLSession, [String]) async -> Void
}

/// The REPL's commands and their help.
enum REPLCommandTable {
    static let all: [REPLCommandSpec] = [
        REPLCommandSpec(name: "help", aliases: ["h", "?"], usage: ":help", summary: "this help") { session, _ in
            session.output.line(helpText(colour: session.output))
        },
        REPLCommandSpec(name: "models", usage: ":models", summary: "list the target's model ids") { session, _ in
            let ids = await session.modelIDs()
            if ids.isEmpty {
                session.output.error("no models: the session has no Bedrock target or it listed none"); return
            }
            let current = session.engine?.defaultModel
            for id in ids { session.output.line((id == current ? "* " : "  ") + TerminalText.escaped(id)) }
        },
        REPLCommandSpec(name: "use", usage: ":use MODEL", summary: "default model for calls without model=") {
            session, args in
            guard let engine = session.engine else { return }
            guard let model = args.first else {
                session.output.line("default model: \(engine.defaultModel ?? "none")")
                return
            }
            let ids = await session.modelIDs()
            if !ids.isEmpty && !ids.contains(model) {
                session.output.error("unknown model '\(model)' (see :models)")
                return
            }
            do {
                try await engine.setDefaultModel(model)
                session.options.model = model  // kept across :reset, :limits and target changes
                session.output.line("default model: \(model)")
            } catch {
                session.output.error("cannot use \(model): \(error)")
            }
        },
        REPLCommandSpec(
            name: "region", usage: ":region [REGION]", summary: "show or change the AWS region (new session state)"
        ) { session, args in
            guard let region = args.first else {
                session.output.line(
                    "region: \(session.options.region ?? "from the environment") · target: \(session.engine?.targetDescription ?? "none")"
                )
                return
            }
            guard region.range(of: #"^[a-z]{2}(-[a-z]+)+-\d+$"#, options: .regularExpression) != nil else {
                session.output.error("'\(region)' is not a region name like us-east-1")
                return
            }
            var options = session.options
            options.region = region
            await retarget(session, options)
        },
        REPLCommandSpec(
            name: "profile", usage: ":profile [NAME]", summary: "show or change the AWS profile (new session state)"
        ) { session, args in
            guard let profile = args.first else {
                session.output.line("profile: \(session.options.profile ?? "from the environment")")
                return
            }
            var options = session.options
            options.profile = profile
            if options.target == "emulator" { options.target = nil }
            await retarget(session, options)
        },
        REPLCommandSpec(
            name: "target", usage: ":target [emulator|aws|auto]",
            summary: "show or switch the target (new session state)"
        ) { session, args in
            guard let kind = args.first else {
                session.output.line("target: \(session.engine?.targetDescription ?? "none")")
                return
            }
            guard ["emulator", "aws", "auto"].contains(kind) else {
                session.output.error("unknown target '\(kind)': use emulator, aws or auto")
                return
            }
            var options = session.options
            options.target = kind
            if await retarget(session, options), kind == "aws", let note = awsCredentialsNote(options) {
                session.output.line(note)
            }
        },
        REPLCommandSpec(
            name: "load", usage: ":load FILE", summary: "run a Lua file in the session (its locals stay local)"
        ) { session, args in
            guard let path = args.first else { session.output.error("usage: :load FILE"); return }
            let text: String
            do { text = try ScriptSource.readText(path: path) } catch {
                session.output.error("\(error)")
                return
            }
            _ = await session.evaluate(
                input: text, chunkName: "@" + path,
                rewriteLocals: false, printsExpressions: false)
        },
        REPLCommandSpec(
            name: "save", usage: ":save FILE", summary: "write the inputs that ran to a file (:load restores them)"
        ) { session, args in
            guard let path = args.first else { session.output.error("usage: :save FILE"); return }
            let text = session.accepted.map { $0 + "\n" }.joined()
            do {
                // mkstemp + rename: a link planted at the path is replaced, not written through.
                try PrivateFile.replace(path, contents: Array(text.utf8))
                session.output.line(
                    "saved \(session.accepted.count) \(session.accepted.count == 1 ? "input" : "inputs") to \(path)")
            } catch {
                session.output.error(
                    "cannot write '\(path)': \((error as? PrivateFile.WriteError)?.problem ?? "\(error)")")
            }
        },
        REPLCommandSpec(
            name: "limits", usage: ":limits [KEY=VALUE …]",
            summary: "show or set memory/instructions/seconds/output/calls (new state)"
        ) { session, args in
            guard let engine = session.engine else { return }
            guard !args.isEmpty else {
                session.output.line(LimitSetting.describe(engine.limits))
                return
            }
            var options = session.options
            for arg in args {
                do {
                    try LimitSetting.apply(arg, to: &options)
                } catch {
                    session.output.error("\(error)")
                    return
                }
            }
            await retarget(session, options, verb: "limits changed")
            if let limits = session.engine?.limits { session.output.line(LimitSetting.describe(limits)) }
        },
        REPLCommandSpec(name: "history", usage: ":history [N]", summary: "show the last N inputs (default 20)") {
            session, args in
            let count = args.first.flatMap(Int.init) ?? 20
            let entries = session.historyEntries()
            let start = max(entries.count - max(count, 0), 0)
            for (offset, entry) in entries[start...].enumerated() {
                let number = String(start + offset + 1)
                session.output.line(
                    String(repeating: " ", count: max(0, 5 - number.count)) + number + "  "
                        + entry.replacingOccurrences(of: "\n", with: "\n       "))
            }
        },
        REPLCommandSpec(name: "reset", usage: ":reset", summary: "start over with a fresh Lua state (same target)") {
            session, _ in
            await retarget(session, session.options, verb: "reset")
        },
        REPLCommandSpec(name: "quit", aliases: ["q", "exit"], usage: ":quit", summary: "leave (Ctrl-D too)") {
            session, _ in
            session.quit()
        },
    ]

    /// The command called `name` (or an alias).
    static func find(_ name: String) -> REPLCommandSpec? {
        all.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// After `:target aws` with no credentials configured (judged without network calls):
    /// what the next call will meet, said now rather than at the first call.
    static func awsCredentialsNote(
        _ options: HostOptions, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        guard options.profile == nil, !QuarryTarget.credentialsConfigured(environment) else { return nil }
        return "note: no AWS credentials are configured (environment, ~/.aws or --profile): calls will fail "
            + "unless a container or instance metadata service provides some; :target emulator switches back"
    }

    /// Makes a fresh engine for `options`; false (said) when it could not.
    @discardableResult
    private static func retarget(_ session: REPLSession, _ options: HostOptions, verb: String = "switched") async
        -> Bool
    {
        do {
            try await session.replaceEngine(with: options)
            session.output.line("\(verb): fresh session state; target: \(session.engine?.targetDescription ?? "none")")
            return true
        } catch {
            session.output.error("cannot switch target: \(error)")
            return false
        }
    }

    /// The text `:help` prints.
    static func helpText(colour output: TerminalOutput) -> String {
        let width = all.map(\.usage.count).max() ?? 0
        let commands = all.map { spec in
            "  " + spec.usage.padding(toLength: width + 2, withPad: " ", startingAt: 0) + spec.summary
        }.joined(separator: "\n")
        return """
            \(output.paint("Commands", .bold))
            \(commands)

            \(output.paint("Input", .bold))
              An expression prints its value (1+1 → 2); tables print sorted and nested;
              `_` holds the last value. A stream typed at the prompt prints as it arrives.
              An unfinished chunk continues on a "...>" line; a blank line or ;; runs it as is.
              Top-level `local x = …` is kept for the session: it becomes the global x
              (locals inside functions and blocks are unchanged; <close> locals stay local).
              Tab completes globals, fields (bedrock.con), methods (c:in), model ids after
              model=", and commands. Ctrl-R searches history. Ctrl-C cancels a running call
              or loop (state is kept) or clears the line; Ctrl-D exits.

            \(output.paint("History", .bold))
              Kept in ~/.quarry_history (QUARRY_HISTORY overrides, empty disables), mode 0600,
              at most QUARRY_HISTORY_SIZE entries (1000). Start a line with a space to keep it
              out of history; lines that look like credentials are never recorded.
            """
    }
}

/// Parses `:limits` settings such as `seconds=60` or `memory=128M`.
enum LimitSetting {
    /// Applies one `key=value` to the options' limits, or throws a message naming the problem.
    static func apply(_ setting: String, to options: inout HostOptions) throws {
        let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw REPLError("'\(setting)' is not KEY=VALUE") }
        let key = parts[0], text = parts[1]
        func count() throws -> Int64 {
            var digits = text.lowercased()
            var scale: Double = 1
            if let last = digits.last, let s = ["k": 1e3, "m": 1e6, "g": 1e9][String(last)] {
                scale = s
                digits.removeLast()
            }
            guard let value = Double(digits), value >= 1, value * scale < 9e18 else {
                throw REPLError("\(key) needs a positive number, got '\(text)'")
            }
            return Int64(value * scale)
        }
        switch key {
        case "memory":
            var digits = text.lowercased()
            var scale = 1
            if let last = digits.last, let s = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30][String(last)] {
                scale = s
                digits.removeLast()
            }
            guard let value = Int(digits), value > 0, value * scale >= 1 << 20, value <= (8 << 30) / scale else {
                throw REPLError("memory needs a size like 128M (between 1M and 8G), got '\(text)'")
            }
            options.maxMemory = value * scale >> 20
        case "instructions": options.maxInstructions = try count()
        case "seconds":
            guard let value = Double(text), value > 0, value <= 86_400 else {
                throw REPLError("seconds needs a number of seconds between 0 and 86400, got '\(text)'")
            }
            options.maxSeconds = value
        case "output": options.maxOutput = Int(try count())
        case "calls": options.maxHostCalls = try count()
        default: throw REPLError("unknown limit '\(key)': use memory, instructions, seconds, output or calls")
        }
    }

    /// The limits on one line.
    static func describe(_ limits: LuaLimits) -> String {
        "memory=\(limits.memoryBytes >> 20)M instructions=\(limits.instructions) seconds=\(limits.seconds) "
            + "output=\(limits.outputBytes) calls=\(limits.hostCalls)"
    }
}
