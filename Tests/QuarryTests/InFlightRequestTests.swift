import BedrockEmulator
import Foundation
import Quarry
import Testing

/// Issue 16 row 5, after its audit: each crossing was within the memory cap, but 300
/// calls in flight each held a 4 MB request (2.2 GB under a 32 MiB cap). The requests
/// of all calls in flight now count against the cap together.
@Suite struct InFlightRequestTests {
    @Test func requestsInFlightShareTheMemoryLimit() async throws {
        var policy = HostPolicy.permissive
        policy.limits.memoryBytes = 6 << 20
        try await HostHarness.with(policy: policy) { h in
            // Calls stay in flight (the emulator holds them, doing no work) until their timeout.
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", stall: true))
            let r = try await h.value(
                """
                local s = string.rep("word ", 100000)          -- 500 KB, one Lua string
                local items = {}
                for i = 1, 40 do items[i] = i end
                local results, errors = map(items, function()
                  return bedrock.converse{model='\(haiku)', messages=s, inference={max_tokens=5}, timeout=1}.stop_reason
                end, {concurrency = 40, settle = true})
                local refused, timedOut, other = 0, 0, 0
                for i = 1, #items do
                  local e = errors[i]
                  if e and e.code == 'LimitExceeded' and tostring(e.message):find('calls in flight', 1, true) then refused = refused + 1
                  elseif e and e.code == 'Timeout' then timedOut = timedOut + 1
                  else other = other + 1 end
                end
                return {refused = refused, timedOut = timedOut, other = other}
                """)
            // 6 MiB holds at most 12 such requests at once: those time out in flight, the rest
            // of the 40 are refused before they are sent.
            #expect((r.field("refused").int ?? 0) >= 20, "\(r)")
            #expect((r.field("timedOut").int ?? 0) >= 1, "\(r)")
            #expect(r.field("other").int == 0, "\(r)")
        }
    }
}
