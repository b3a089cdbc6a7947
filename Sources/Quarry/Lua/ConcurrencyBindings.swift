/// `group(functions, concurrency)` (behind `parallel` and `map`) and `race(functions)`:
/// run functions as coroutines of the scheduler, all of them or the first to finish.
struct ConcurrencyBindings {
    /// Adds `group` and `race` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("group", group)
        table.add(
            "race",
            { call in
                guard case .array(let functions) = call.argument(1) else { return .failure("race: expected functions") }
                for f in functions { if case .function(let ref) = f { call.retain(ref) } }
                return .suspend(HostRequest.race(functions))
            })
    }

    private func group(_ call: LuaHostCall) -> LuaHostResult {
        guard case .array(let functions) = call.argument(1) else {
            if case .map(let m) = call.argument(1), m.isEmpty { return .values([]) }
            return .failure("parallel: expected functions")
        }
        // At most one coroutine per function runs at once, so a larger limit means "all".
        var concurrency = functions.count
        if call.argument(2) != .nil {
            do throws(ScriptError) {
                let asked = try ScriptNumber.count(
                    call.argument(2), function: "parallel", field: "concurrency",
                    in: 1...ScriptNumber.maxCount)
                concurrency = min(asked, functions.count)
            } catch {
                return .error(error.luaValue)
            }
        }
        for f in functions { if case .function(let ref) = f { call.retain(ref) } }
        return .suspend(HostRequest.group(functions, concurrency: max(1, concurrency)))
    }
}
