import BedrockEmulator
import Foundation
import Quarry
import Testing

/// `race`: the first branch to finish wins and the others are cancelled.
@Suite struct RaceTests {
    @Test func theFirstToFinishWinsAndTheRestAreCancelled() async throws {
        try await HostHarness.with { h in
            let cancelled = Counter()
            try await h.host.register("slow") { _ in
                do {
                    try await Task.sleep(for: .seconds(20))
                } catch {
                    cancelled.enter()
                    throw error
                }
                return ["slow"]
            }
            let r = try await h.value(
                """
                local value, index = race(function() return slow() end, function() sleep(0.01) return 'fast' end)
                return {value, index}
                """)
            #expect(r == .array(["fast", 2]))
            #expect(cancelled.peak == 1)
        }
    }

    @Test func aFailingWinnerRaisesItsError() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local ok, e = pcall(race, function() error({code='Boom', message='first'}) end, function() sleep(5) end)
                return e.code
                """)
            #expect(r == "Boom")
        }
    }

    @Test func aStreamWaitingForItsNextEventLosesToATimer() async throws {
        try await HostHarness.with { h in
            // Thirty seconds between events: the stream branch is waiting inside next().
            _ = try h.emulator.addFault(FaultRule(operation: "ConverseStream", stream: "drip", dripMs: 30_000))
            let clock = ContinuousClock()
            let started = clock.now
            let r = try await h.value(
                """
                local _, index = race(function()
                                        local n = 0
                                        for _ in bedrock.stream{model='\(haiku)', messages='x'} do n = n + 1 end
                                        return n
                                      end,
                                      function() sleep(0.2) return 'timer' end)
                return index
                """)
            #expect(r == 2)
            // The loser stopped waiting when it was cancelled, not when its next event came
            // (a wide margin: the suite runs in parallel on a loaded machine).
            #expect(clock.now - started < .seconds(20))
        }
    }

    @Test func aBedrockCallLosesToATimer() async throws {
        try await HostHarness.with { h in
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", stall: true))
            let r = try await h.value(
                """
                local _, index = race(function() return bedrock.converse{model='\(haiku)', messages='x'} end,
                                      function() sleep(0.2) return 'timer' end)
                return index
                """)
            #expect(r == 2)
        }
    }
}
