import BedrockEmulator
import Foundation
import Quarry
import Synchronization
import Testing

/// Policy rules that protect credentials and budgets, checked before anything is sent.
@Suite struct PolicyTests {
    @Test func customEndpointsAreRefusedUnlessAllowed() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local ok, e = pcall(bedrock.client, {endpoint='http://127.0.0.1:9/steal'})
                return {ok=ok, code=e.code, message=e.message}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "PolicyViolation")
            #expect(r.field("message").stringValue?.contains("none: calls go only to the target's endpoint") == true)
        }
        try await HostHarness.with(policy: HostPolicy(allowedEndpoints: ["http://127.0.0.1:*"])) { h in
            let own = h.target.emulatorAdmin?.url ?? ""
            let text = try await h.value(
                "return bedrock.client{endpoint='\(own)'}:converse{model='\(haiku)', messages='allowed'}.text")
            #expect(text.stringValue?.contains("allowed") == true)
        }
    }

    @Test func budgetsAndRulesProduceTheDocumentedErrors() async throws {
        let policy = HostPolicy(allowedModels: ["amazon.*"], allowedRegions: ["us-*"], callBudget: 2, tokenBudget: 500)
        try await HostHarness.with(policy: policy) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local out = {}
                local function try(f) local ok, e = pcall(f); out[#out + 1] = ok and 'ok' or (e.code .. ': ' .. e.message) end
                try(function() return bedrock.converse{model='\(haiku)', messages='x'} end)
                try(function() return bedrock.client{region='eu-west-1'} end)
                try(function() return bedrock.converse{model='\(nova)', messages='x', inference={max_tokens=1000}} end)
                try(function() return bedrock.converse{model='\(nova)', messages='x', inference={max_tokens=100}} end)
                try(function() return bedrock.converse{model='\(nova)', messages='x', inference={max_tokens=100}} end)
                try(function() return bedrock.converse{model='\(nova)', messages='x', inference={max_tokens=100}} end)
                return out
                """)
            guard case .array(let items) = r else { Issue.record("no list"); return }
            let texts = items.compactMap(\.stringValue)
            #expect(texts.count == 6)
            #expect(texts[0].hasPrefix("PolicyViolation: model '\(haiku)' is not allowed"))
            #expect(texts[1].hasPrefix("PolicyViolation: region 'eu-west-1' is not allowed"))
            #expect(texts[2].hasPrefix("PolicyViolation: the token budget of 500 would be exceeded"))
            #expect(texts[3] == "ok" && texts[4] == "ok")
            #expect(texts[5] == "PolicyViolation: the call budget of 2 calls is used up")
            // Only the two allowed calls were sent.
            #expect(h.emulator.requests.count - before == 2)
            let budget = try await h.value("return bedrock.budget()")
            #expect(budget.field("calls_used") == 2)
            #expect((budget.field("tokens_used").int ?? 0) > 0)
        }
    }

    @Test("a model id longer than Bedrock's 2,048 bytes is refused before it is sent or recorded")
    func overlongModelIdsAreRefused() async throws {
        // Every call's record keeps its model id (metrics keep 100,000 records): 300 calls
        // with a 1 MB id grew a 16 MiB-capped run to 376 MB before ids had a limit.
        try await HostHarness.with { h in
            let recorded = Mutex(0)
            h.host.addCallObserver { _ in recorded.withLock { $0 += 1 } }
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local long = string.rep('a', 2049)
                local out = {}
                for _, f in ipairs{
                  function() return bedrock.converse{model = long, messages = 'x'} end,
                  function() for _ in bedrock.stream{model = long, messages = 'x'} do end end,
                  function() return bedrock.invoke{model = long, body = {}} end,
                  function() return bedrock.count_tokens{model = long, messages = 'x'} end,
                } do
                  local ok, e = pcall(f)
                  out[#out + 1] = ok and 'ok' or (e.code .. ': ' .. e.message)
                end
                local ok, e = pcall(bedrock.converse, {model = string.rep('a', 2048), messages = 'x'})
                out[#out + 1] = ok and 'ok' or e.code
                return out
                """)
            guard case .array(let items) = r else { Issue.record("no list: \(r)"); return }
            let texts = items.compactMap(\.stringValue)
            let refusal =
                "ValidationError: model id is 2049 bytes; Bedrock accepts at most 2048 "
                + "(a model id, an inference profile id or an ARN)"
            #expect(texts.prefix(4).allSatisfy { $0 == refusal }, "\(texts)")
            // 2,048 bytes passes the check and reaches the service, which does not know it.
            #expect(texts.count == 5 && texts[4] != "ValidationError: model id", "\(texts)")
            #expect(h.emulator.requests.count - before == 1)
            #expect(recorded.withLock { $0 } == 1)
        }
    }

    @Test func waitsEndAtTheWallClockDeadline() async throws {
        var policy = HostPolicy()
        policy.limits.seconds = 0.5
        try await HostHarness.with(policy: policy) { h in
            let started = ContinuousClock.now
            await #expect {
                _ = try await h.value("sleep(30); print('after the deadline')")
            } throws: { error in
                if case LuaError.limit(.deadline, _) = error { return true }
                return false
            }
            // Far below the 30 s sleep (wide: every suite runs at once on a 2-core machine).
            #expect(ContinuousClock.now - started < .seconds(20))
            #expect(!h.output.text.contains("after the deadline"))
        }
    }

    /// The run's one deadline timer answers a wait that starts after many others have
    /// come and gone (each unregistered), and every wait pending at once.
    @Test func theDeadlineEndsWaitsAfterManyShortOnesAndConcurrentOnes() async throws {
        var policy = HostPolicy()
        policy.limits.seconds = 0.5
        try await HostHarness.with(policy: policy) { h in
            await #expect {
                _ = try await h.value("for _ = 1, 50 do sleep(0) end sleep(5); print('after the deadline')")
            } throws: { error in
                if case LuaError.limit(.deadline, _) = error { return true }
                return false
            }
            #expect(!h.output.text.contains("after the deadline"))
        }
        try await HostHarness.with(policy: policy) { h in
            await #expect {
                _ = try await h.value(
                    """
                    parallel(function() sleep(5) end, function() sleep(5) end, function() sleep(5) end)
                    print('after the deadline')
                    """)
            } throws: { error in
                if case LuaError.limit(.deadline, _) = error { return true }
                return false
            }
            #expect(!h.output.text.contains("after the deadline"))
        }
    }

    /// Waits within the deadline return their values; the run's timer does not fire early.
    @Test func waitsWithinTheDeadlineAreNotCut() async throws {
        var policy = HostPolicy()
        policy.limits.seconds = 60
        try await HostHarness.with(policy: policy) { h in
            let v = try await h.value("local n = 0 for _ = 1, 20 do sleep(0); n = n + 1 end return n")
            #expect(v == .integer(20))
        }
    }
}
