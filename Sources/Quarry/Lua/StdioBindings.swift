/// `stdin.read(format)` and `stderr.write(…)`: the host's input (when it gives scripts
/// one) and its error output, bounded by the memory cap and the output limit.
struct StdioBindings {
    let core: HostCore

    /// Adds `stdin.read` and `stderr.write` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add(
            "stdin.read",
            { [core] call in
                guard let input = core.input else {
                    return .error(
                        ScriptError(
                            code: .noInput,
                            message: "stdin.read: "
                                + (core.noInputReason ?? "this host gives scripts no input")
                        ).luaValue)
                }
                let format = call.argument(1).stringValue ?? "l"
                guard ["l", "L", "a", "*l", "*L", "*a"].contains(format) else {
                    return .failure("stdin.read: format must be \"l\", \"L\" or \"a\", got \"\(format)\"")
                }
                // What one read may return: a Lua string, so within the memory cap and the
                // longest string a value crossing into Lua may carry.
                let longest = LuaConversionLimits().maxStringBytes
                let cap = min(core.policy.limits.memoryBytes, longest)
                // The memory cap is worded as every memory limit is; the string limit names itself.
                let tooLarge: @Sendable (String) -> String = { detail in
                    cap == longest
                        ? "stdin.read: \(detail) than the longest string a script can hold (\(cap) bytes)"
                        : "stdin.read: " + LuaLimits.memoryCapMessage(cap, detail)
                }
                return .suspend(
                    HostRequest.work {
                        // Bytes in, bytes out: a Lua string is bytes, so nothing is repaired.
                        if format.hasSuffix("a") {
                            // Never more than the state could hold: the rest would be refused at
                            // the crossing anyway, after filling the host's memory.
                            var all: [UInt8] = []
                            while let line = await input() {
                                all += line
                                if all.count > cap {
                                    throw ScriptError(
                                        code: .limitExceeded,
                                        message: tooLarge("the input is larger"))
                                }
                            }
                            return [.bytes(all)]
                        }
                        guard var line = await input() else { return [.nil] }
                        // A line longer than the input's pieces comes in several: one read
                        // returns the whole line (as Lua's does), or says it is too long.
                        while line.count <= cap, line.last != UInt8(ascii: "\n"), let more = await input() {
                            line += more
                        }
                        if !format.hasSuffix("L"), line.last == UInt8(ascii: "\n") { line.removeLast() }
                        if line.count > cap {
                            throw ScriptError(
                                code: .limitExceeded, message: tooLarge("a line is longer"))
                        }
                        return [.bytes(line)]
                    })
            })
        table.add(
            "stderr.write",
            { [core] call in
                var text: [UInt8] = []
                for (i, value) in call.arguments.enumerated() {
                    switch value {
                    case .string(let s): text += s.utf8
                    case .bytes(let b): text += b
                    case .integer(let n): text += String(n).utf8
                    case .number(let d): text += String(d).utf8
                    default: return .failure("stderr.write: argument \(i + 1) must be a string or number")
                    }
                }
                guard core.writeError(text) else {
                    return .error(
                        ScriptError(code: .limitExceeded, message: "stderr.write: the output limit is reached").luaValue
                    )
                }
                return .values([])
            })
    }
}
