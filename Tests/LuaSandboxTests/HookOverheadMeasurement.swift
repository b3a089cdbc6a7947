import Foundation
import LuaSandbox
import Testing

/// Measures the budget hooks' cost on fib(27). Opt-in (it prints timings and is only
/// meaningful in a release build):
/// `QUARRY_MEASURE_HOOKS=1 swift test -c release --filter HookOverheadMeasurement`.
/// It asserts correctness and accounting only, never timings.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["QUARRY_MEASURE_HOOKS"] != nil)) struct HookOverheadMeasurement
{
    static let fib = """
        local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
        local t = os.clock()
        local r = fib(27)
        return r, os.clock() - t
        """

    @Test func fib27WithAndWithoutHooks() async throws {
        let sandbox = try await LuaSandbox()
        var best: [Bool: Double] = [true: .infinity, false: .infinity]
        var unitsWithHooks: Int64 = 0
        for _ in 0..<5 {
            for hooks in [false, true] {
                try await sandbox.withState { $0.setHooksEnabled(hooks) }
                let values = try await sandbox.run(Self.fib, limits: LuaLimits(instructions: .max, seconds: 0))
                #expect(values.first == .integer(196_418))
                if case .number(let seconds) = values.last { best[hooks] = min(best[hooks]!, seconds) }
                let used = try await sandbox.withState { $0.currentReport.instructionsUsed }
                if hooks { unitsWithHooks = used } else { #expect(used == 0) }
            }
        }
        #expect(unitsWithHooks > 4_000_000)
        let off = best[false]! * 1000, on = best[true]! * 1000
        print(
            String(
                format: "fib(27) CPU: hooks off %.1f ms, hooks on %.1f ms (+%.0f%%), %lld budget units",
                off, on, (on / off - 1) * 100, unitsWithHooks))
    }
}
