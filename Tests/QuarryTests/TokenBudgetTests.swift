import BedrockEmulator
import Foundation
import Logging
import Quarry
import Testing

@Suite struct TokenBudgetTests {
    static let body =
        "{anthropic_version='bedrock-2023-05-31', max_tokens=30, messages={ {role='user', content='Tell me about budgets'} }}"

    @Test func invokeIsSettledFromTheServiceHeaders() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 100)) { h in
            let r = try await h.value(
                """
                local r = bedrock.invoke{model='\(haiku)', body=\(Self.body)}
                local after = bedrock.budget().tokens_used
                local ok, e = pcall(bedrock.invoke, {model='\(haiku)', body=\(Self.body)})
                local ok2 = ok and pcall(bedrock.invoke, {model='\(haiku)', body=\(Self.body)})
                return {usage = r.usage, json = r.json.usage, after = after, refused = not (ok and ok2),
                        final = bedrock.budget().tokens_used}
                """)
            let input = r.field("usage").field("input_tokens").int ?? -1
            let output = r.field("usage").field("output_tokens").int ?? -1
            #expect(input > 0 && output > 0)
            // The headers agree with the body's own usage.
            #expect(r.field("json").field("input_tokens").int == input)
            #expect(r.field("json").field("output_tokens").int == output)
            #expect(r.field("after").int == input + output)
            #expect(r.field("refused") == true)
            #expect((r.field("final").int ?? 0) <= 100)
        }
    }

    @Test func invokeStreamIsSettledFromTheInvocationMetrics() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 100)) { h in
            let r = try await h.value(
                """
                local s = bedrock.invoke_stream{model='\(haiku)', body=\(Self.body)}
                local last
                for ev in s do if ev.json then last = ev.json end end
                local m = last['amazon-bedrock-invocationMetrics']
                local after = bedrock.budget().tokens_used
                return {metrics = m, usage = s.result.usage, after = after}
                """)
            let metrics = r.field("metrics")
            let input = metrics.field("inputTokenCount").int ?? -1
            let output = metrics.field("outputTokenCount").int ?? -1
            #expect(input > 0 && output > 0)
            #expect(metrics.field("invocationLatency").int != nil && metrics.field("firstByteLatency").int != nil)
            #expect(r.field("usage").field("input_tokens").int == input)
            #expect(r.field("after").int == input + output)
        }
    }

    @Test func converseReservesItsInputBeforeSending() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 1_000)) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local ok, e = pcall(bedrock.converse, {model='\(haiku)', messages=('word '):rep(50000), inference={max_tokens=10}})
                return {ok = ok, code = e and e.code, message = e and e.message}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "PolicyViolation")
            #expect(r.field("message").stringValue?.contains("token budget of 1000 would be exceeded") == true)
            #expect(h.emulator.requests.count == before)
        }
    }
}
