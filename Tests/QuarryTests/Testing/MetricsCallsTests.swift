import BedrockRuntime
import Foundation
import LuaSandbox
import Testing

@testable import Quarry

/// `metrics.calls([n])` counts what it would return before converting any of it: a list
/// past what one value may hold is refused with what to do instead. It used to be built
/// whole (245 MB outside an 8 MiB cap for 100,000 records, half a second the deadline
/// could not interrupt) and then dropped by the conversion's element limit.
@Suite struct MetricsCallsTests {
    func calls(_ count: Int) -> [CallRecord] {
        (0..<count).map { n in
            CallRecord(
                operation: "Converse", model: "m\(n)", region: "us-east-1", started: Date(),
                duration: .milliseconds(1),
                attempts: [AttemptRecord(number: 1, outcome: .success, duration: .milliseconds(1))],
                errorCode: nil, inputTokens: 1, outputTokens: 1)
        }
    }

    @Test("too many calls for one value are refused before any is converted, naming the way out")
    func tooManyIsRefusedUpFront() {
        let all = calls(6_000)
        #expect(MetricsModule.elements(of: all[0]) * 6_000 > LuaConversionLimits().maxItems)
        #expect {
            _ = try MetricsModule.callsTable(all, newest: nil)
        } throws: { error in
            guard let e = error as? ScriptError else { return false }
            return e.code == .validationError
                && e.message.contains("6000 calls are more than one value may hold (100000 table elements)")
                && e.message.contains("metrics.calls(n)")
        }
    }

    @Test("metrics.calls(n) returns the newest n, oldest first; all of them when n is larger")
    func newestN() throws {
        let all = calls(6_000)
        let three = try MetricsModule.callsTable(all, newest: .integer(3))
        #expect(three.map { $0.field("model").stringValue } == ["m5997", "m5998", "m5999"])
        #expect(try MetricsModule.callsTable(all, newest: .number(2)).count == 2)
        #expect(try MetricsModule.callsTable(calls(4), newest: .integer(10)).count == 4)
        #expect(try MetricsModule.callsTable(all, newest: .integer(0)).isEmpty)
        #expect(try MetricsModule.callsTable(calls(2), newest: .nil).count == 2)
    }

    @Test(
        "n that is not a whole number of calls is refused, naming the value",
        arguments: [
            (LuaValue.integer(-1), "-1"), (.number(-1), "-1.0"), (.number(1.5), "1.5"), (.number(.nan), "nan"),
            (.number(.infinity), "inf"), (.number(1e300), "1e+300"), (.string("3"), "the string \"3\""),
            (.boolean(true), "a boolean"),
        ])
    func badN(_ n: LuaValue, shown: String) {
        #expect {
            _ = try MetricsModule.callsTable(calls(2), newest: n)
        } throws: { error in
            (error as? ScriptError)?.message
                == "metrics.calls: 'n' must be a whole number between 0 and 9007199254740992, got \(shown)"
        }
    }
}
