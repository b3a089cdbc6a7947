/// `stdin.read(format)` and `stderr.write(…)`: the host's input (when it gives scripts
/// one) and its error output, bounded by the memory cap and the output limit.
struct StdioBindings {
    let core: HostCore

    /// Adds `stdin.read` and `stderr.write` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("stdin.read", { [core] call in
            guard let input = core.input else {
                return .error(ScriptError(code: .noInput, message: "stdin.read: this host gives scripts no input").luaValue)
            }
            let format = call.argument(1).stringValue ?? "l"
            guard ["l", "L", "a", "*l", "*L", "*a"].contains(format) else {
                return .failure("stdin.read: format must be \"l\", \"L\" or \"a\", got \"\(format)\"")
            }
            let cap = core.policy.limits.memoryBytes
            return .suspend(HostRequest.work {
                if format.hasSuffix("a") {
                    // Never more than the state could hold: the rest would be refused at
                    // the crossing anyway, after filling the host's memory.
                    var all = ""
                    while let line = await input() {
                        all += line
                        if all.utf8.count > cap {
                            throw ScriptError(code: .limitExceeded,
                                              message: "stdin.read: the input is larger than the memory cap of \(cap) bytes")
                        }
                    }
                    return [.string(all)]
                }
                guard let line = await input() else { return [.nil] }
                if format.hasSuffix("L") { return [.string(line)] }
                return [.string(line.hasSuffix("\n") ? String(line.dropLast()) : line)]
            })
        })
        table.add("stderr.write", { [core] call in
            var text = ""
            for (i, value) in call.arguments.enumerated() {
                switch value {
                case .string(let s): text += s
                case .bytes(let b): text += String(decoding: b, as: UTF8.self)
                case .integer(let n): text += String(n)
                case .number(let d): text += String(d)
                default: return .failure("stderr.write: argument \(i + 1) must be a string or number")
                }
            }
            guard core.writeError(text) else {
                return .error(ScriptError(code: .limitExceeded, message: "stderr.write: the output limit is reached").luaValue)
            }
            return .values([])
        })
    }
}
