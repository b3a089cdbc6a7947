/// `sleep(seconds)` and `now()`: the script's clock (monotonic seconds since the first
/// host started) and an awaited pause that lets other coroutines run.
struct TimeBindings {
    private static let origin = ContinuousClock.now

    /// Adds `sleep` and `now` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("sleep", sleep)
        table.add(
            "now",
            { _ in
                let origin = Self.origin  // first use sets it: read before the clock, so never negative
                return .values([.number((ContinuousClock.now - origin).seconds)])
            })
    }

    private func sleep(_ call: LuaHostCall) -> LuaHostResult {
        let duration: Duration
        do throws(ScriptError) {
            duration = try ScriptNumber.duration(call.argument(1), function: "sleep", field: "seconds")
        } catch {
            return .error(error.luaValue)
        }
        return .suspend(
            HostRequest.work {
                try await Task.sleep(for: duration)
                return []
            })
    }
}

extension Duration {
    /// The duration in seconds, as a float.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
