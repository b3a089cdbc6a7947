import BedrockEmulator
import Foundation
import Quarry
import Testing

/// Issue 16 row 8, after its audit: a call is never free because it was cut short, its
/// input hid in a document, or its body named the output cap twice; only a service
/// refusal with no output releases the reservation.
@Suite struct TokenSettlementTests {
    @Test func aStreamCutAfterOutputKeepsItsReservation() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 10_000)) { h in
            // The answer stops after a few events, before the usage could arrive.
            _ = try h.emulator.addFault(FaultRule(operation: "ConverseStream", stream: "truncate", afterEvents: 3))
            let r = try await h.value(
                """
                local n = 0
                local ok, e = pcall(bedrock.stream, {model='\(haiku)', messages='Tell me a long story about rivers',
                    inference={max_tokens=400}, on_text=function() n = n + 1 end})
                for _ = 1, 250 do
                  if bedrock.budget().tokens_reserved == 0 then break end
                  sleep(0.02)
                end
                local b = bedrock.budget()
                return {ok = ok, code = e and e.code, used = b.tokens_used, reserved = b.tokens_reserved, n = n}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "IncompleteStream", "\(r)")
            // The reservation (input estimate + 400) stays spent: the service produced output
            // before the cut (whether or not it reached the script before the error).
            #expect(r.field("reserved").int == 0, "\(r)")
            #expect((r.field("used").int ?? 0) >= 400, "\(r)")
        }
    }

    @Test func aCallCutByItsTimeoutKeepsItsReservation() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 10_000)) { h in
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", latencyMs: 3000))
            let r = try await h.value(
                """
                local ok, e = pcall(bedrock.converse, {model='\(haiku)', messages='hi', inference={max_tokens=300}, timeout=0.3})
                return {ok = ok, code = e and e.code, used = bedrock.budget().tokens_used}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "Timeout")
            #expect((r.field("used").int ?? 0) >= 300, "\(r)")
        }
    }

    @Test func aServiceRefusalReleasesItsReservation() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 10_000)) { h in
            let r = try await h.value(
                """
                local ok, e = pcall(bedrock.converse, {model='amazon.no-such-model-v9:0', messages='hi', inference={max_tokens=300}})
                return {ok = ok, status = e and e.status, used = bedrock.budget().tokens_used}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("status").int != nil, "\(r)")
            #expect(r.field("used").int == 0, "\(r)")
        }
    }

    @Test func textDocumentsCountAsInput() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 1_000)) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local big = ('granite is a rock. '):rep(2000)
                local native = {anthropic_version='bedrock-2023-05-31', max_tokens=10, messages={ {role='user', content={
                    {type='document', source={type='text', media_type='text/plain', data=big}},
                    {type='text', text='summarise'} } } }}
                local ok1, e1 = pcall(bedrock.invoke, {model='\(haiku)', body=native})
                local encoded = ('Z3Jhbml0ZSBpcyBhIHJvY2su'):rep(800)   -- base64 of the same prose
                local ok2, e2 = pcall(bedrock.converse, {model='\(haiku)', inference={max_tokens=10}, messages={
                    {role='user', content={ {document={format='txt', name='rocks', source={base64=encoded}}}, {text='summarise'} }} }})
                return {ok1 = ok1, c1 = e1 and e1.code, ok2 = ok2, c2 = e2 and e2.code}
                """)
            #expect(r.field("ok1") == false && r.field("c1") == "PolicyViolation", "\(r)")
            #expect(r.field("ok2") == false && r.field("c2") == "PolicyViolation", "\(r)")
            #expect(h.emulator.requests.count == before)
        }
    }

    @Test func aBodyThatNamesItsOutputCapTwiceReservesTheLarger() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 200)) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local body = '{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"max_tokens":5000,'
                    .. '"messages":[{"role":"user","content":"hi"}]}'
                local ok, e = pcall(bedrock.invoke, {model='\(haiku)', body=body})
                local ok2, e2 = pcall(bedrock.invoke, {model='meta.llama3-8b-instruct-v1:0',
                    body='{"prompt":"hi","max_tokens":1,"max_gen_len":2000}'})
                return {ok = ok, code = e and e.code, ok2 = ok2, code2 = e2 and e2.code}
                """)
            #expect(r.field("ok") == false && r.field("code") == "PolicyViolation", "\(r)")
            #expect(r.field("ok2") == false && r.field("code2") == "PolicyViolation", "\(r)")
            #expect(h.emulator.requests.count == before)
        }
    }
}
