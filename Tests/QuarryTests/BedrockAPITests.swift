import BedrockEmulator
import Foundation
import Quarry
import Testing

/// The `bedrock.*` Lua API end to end: script → sandbox → scheduler → client → the
/// emulator over real HTTP on 127.0.0.1, and back.
@Suite struct BedrockAPITests {
    @Test func converseReturnsTheDocumentedTable() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                return bedrock.converse{model='\(haiku)', messages='Hello there', system='Be brief.',
                                        inference={max_tokens=40, temperature=0}}
                """)
            #expect(r.field("text").stringValue?.contains("Hello there") == true)
            #expect(r.field("stop_reason") == "end_turn" || r.field("stop_reason") == "max_tokens")
            #expect((r.field("usage").field("input_tokens").int ?? 0) > 0)
            #expect((r.field("usage").field("output_tokens").int ?? 0) > 0)
            #expect(r.field("attempts") == 1)
            #expect(r.field("request_id").stringValue?.isEmpty == false)
            #expect(r.field("model") == .string(haiku))
            if case .number(let ms) = r.field("latency_ms") {
                #expect(ms >= 0)
            } else {
                Issue.record("latency_ms missing")
            }
            guard case .array(let blocks) = r.field("content") else { Issue.record("content is not a list"); return }
            #expect(blocks.first?.field("type") == "text")
            #expect(r.field("message").field("role") == "assistant")
            // What the emulator received is what the script asked for.
            let seen = h.emulator.requests.last
            #expect(seen?.operation == "Converse")
        }
    }

    @Test func conversationsCarryHistoryAndContentShorthands() async throws {
        try await HostHarness.with { h in
            let text = try await h.value(
                """
                local messages = { {role='user', content='My name is Ada.'} }
                local r1 = bedrock.converse{model='\(haiku)', messages=messages}
                messages[#messages + 1] = r1.message
                messages[#messages + 1] = {role='user', content={ {type='text', text='What is my name?'} }}
                local r2 = bedrock.converse{model='\(haiku)', messages=messages}
                return r2.text
                """)
            #expect(text.stringValue?.contains("What is my name?") == true)
        }
    }

    @Test func streamsYieldTypedEventsAndAResult() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local s = bedrock.stream{model='\(haiku)', messages='Tell me a story', inference={max_tokens=60}}
                local kinds, text = {}, {}
                for ev in s do
                  kinds[ev.type] = (kinds[ev.type] or 0) + 1
                  if ev.type == 'text' then text[#text + 1] = ev.text; assert(ev.index == 0) end
                end
                return {kinds=kinds, joined=table.concat(text), result=s.result, shortcut=s.text}
                """)
            let kinds = r.field("kinds")
            #expect(kinds.field("message_start") == 1)
            #expect((kinds.field("text").int ?? 0) > 3)
            #expect(kinds.field("block_stop") == 1)
            #expect(kinds.field("message_stop") == 1)
            #expect(kinds.field("metadata") == 1)
            #expect(r.field("joined") == r.field("result").field("text"))
            #expect(r.field("shortcut") == r.field("result").field("text"))
            #expect(r.field("result").field("complete") == true)
            #expect((r.field("result").field("usage").field("output_tokens").int ?? 0) > 0)
        }
    }

    @Test func aStreamOpenedInOneEvaluationCanBeReadInTheNext() async throws {
        // A session (the REPL): globals, and the streams they hold, live from run to run.
        try await HostHarness.with(isolation: .session) { h in
            _ = try await h.value("s = bedrock.stream{model='\(haiku)', messages='keep me open'}")
            let text = try await h.value("local n = 0 for ev in s do n = n + 1 end return s.text")
            #expect(text.stringValue?.contains("keep me open") == true)
        }
    }

    @Test func onTextCallbackConsumesTheStream() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local pieces = {}
                local result = bedrock.stream{model='\(haiku)', messages='Say something', on_text=function(t) pieces[#pieces+1] = t end}
                return {joined=table.concat(pieces), text=result.text, stop=result.stop_reason}
                """)
            #expect(r.field("joined") == r.field("text"))
            #expect(r.field("stop").stringValue != nil)
        }
    }

    @Test func streamCutShortRaisesIncompleteStreamWithThePartialResult() async throws {
        try await HostHarness.with { h in
            _ = try h.emulator.addFault(FaultRule(operation: "ConverseStream", stream: "close", afterEvents: 4))
            let r = try await h.value(
                """
                local s = bedrock.stream{model='\(haiku)', messages='Tell me a long story', inference={max_tokens=80}}
                local seen = 0
                local ok, e = pcall(function() for ev in s do seen = seen + 1 end end)
                return {ok=ok, code=e.code, seen=seen, partial=e.partial and e.partial.text}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "IncompleteStream")
            #expect((r.field("seen").int ?? 0) >= 3)
            #expect(r.field("partial").stringValue != nil)
        }
    }

    @Test func invokeAndInvokeStreamSpeakTheModelsNativeFormat() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local body = {anthropic_version='bedrock-2023-05-31', max_tokens=50,
                              messages={ {role='user', content='Hi from invoke'} }}
                local once = bedrock.invoke{model='\(haiku)', body=body}
                local chunks, types = 0, {}
                for ev in bedrock.invoke_stream{model='\(haiku)', body=body} do
                  chunks = chunks + 1
                  if ev.json then types[ev.json.type] = true end
                end
                return {type=once.json.type, text=once.json.content[1].text, raw=#once.body > 0, chunks=chunks,
                        started=types.message_start, stopped=types.message_stop}
                """)
            #expect(r.field("type") == "message")
            #expect(r.field("text").stringValue?.contains("Hi from invoke") == true)
            #expect(r.field("raw") == true)
            #expect((r.field("chunks").int ?? 0) > 2)
            #expect(r.field("started") == true && r.field("stopped") == true)
        }
    }

    @Test func countTokensAgreesWithUsage() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local req = {model='\(haiku)', messages='Count these few words please', system='You count.'}
                local counted = bedrock.count_tokens(req)
                local used = bedrock.converse(req)
                return {counted=counted.input_tokens, used=used.usage.input_tokens}
                """)
            #expect(r.field("counted").int != nil)
            #expect(r.field("counted") == r.field("used"))
        }
    }

    @Test func guardrailAndAsyncInvokeWork() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local g = bedrock.apply_guardrail{guardrail={id='gr-1', version='1'}, source='input', content='hello world'}
                local started = bedrock.start_async_invoke{model='amazon.nova-reel-v1:1', input={taskType='TEXT_VIDEO'},
                                                          output_s3_uri='s3://bucket/out'}
                local got = bedrock.get_async_invoke(started.invocation_arn)
                local list = bedrock.list_async_invokes{max_results=10}
                return {action=g.action, arn=started.invocation_arn, status=got.status, same=got.invocation_arn == started.invocation_arn,
                        listed=#list.async_invoke_summaries}
                """)
            #expect(r.field("action").stringValue != nil)
            #expect(r.field("arn").stringValue?.hasPrefix("arn:aws:bedrock:") == true)
            #expect(r.field("status").stringValue != nil)
            #expect(r.field("same") == true)
            #expect((r.field("listed").int ?? 0) >= 1)
        }
    }

    @Test func clientsAreHandlesWithColonMethods() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local c = bedrock.client{region='us-west-2', retry={max_attempts=1}, timeout=20}
                local answer = c:converse{model='\(nova)', messages='hi'}
                local ok, e = pcall(function() return c.converse{model='\(nova)', messages='hi'} end)
                local bad_ok, bad = pcall(bedrock.client, {region='mars-1'})
                local unknown_ok, unknown = pcall(bedrock.client, {regoin='us-west-2'})
                return {name=tostring(c), text=answer.text, colon=tostring(e), bad=tostring(bad), unknown=tostring(unknown)}
                """)
            #expect(r.field("name") == "BedrockClient<us-west-2>")
            #expect(r.field("text").stringValue?.contains("hi") == true)
            #expect(r.field("colon").stringValue?.contains("c:converse") == true)
            #expect(r.field("bad").stringValue?.contains("mars-1") == true)
            #expect(r.field("unknown").stringValue?.contains("regoin") == true)
            #expect(h.emulator.requests.last?.region == "us-west-2")
        }
    }

    @Test func modelsAndIdentityDescribeTheTarget() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local models = bedrock.models()
                local ids = {}
                for _, m in ipairs(models) do ids[m.id] = true end
                return {n=#models, haiku=ids['\(haiku)'] or false, identity=bedrock.identity()}
                """)
            #expect((r.field("n").int ?? 0) >= 10)
            #expect(r.field("haiku") == true)
            #expect(r.field("identity").field("access_key_id") == "test")
            #expect(r.field("identity").field("source") == "emulator")
        }
    }

    @Test func agentRunsToolsUntilTheModelStops() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local calls = {}
                local res = bedrock.agent{
                  model='\(haiku)', prompt='What is the weather in Paris? Use the weather tool.', max_turns=5,
                  tools={ weather={description='Weather for a city',
                                   schema={type='object', properties={city={type='string'}}, required={'city'}},
                                   run=function(input) calls[#calls+1] = input; return 'sunny' end} },
                }
                return {turns=res.turns, calls=#calls, stop=res.stop_reason, history=#res.messages, text=res.text}
                """)
            #expect((r.field("calls").int ?? 0) >= 1)
            #expect((r.field("turns").int ?? 0) >= 2)
            #expect(r.field("stop") == "end_turn")
            #expect((r.field("history").int ?? 0) >= 4)
            #expect(r.field("text").stringValue?.contains("sunny") == true)
        }
    }

    @Test func serviceErrorsAreTablesWithTheServiceCodeAndTheScriptLine() async throws {
        try await HostHarness.with { h in
            _ = try h.emulator.addFault(FaultRule(operation: "Converse", times: 10, error: "ThrottlingException"))
            let r = try await h.value(
                """
                local c = bedrock.client{retry={max_attempts=2}}
                local ok, e = pcall(function()
                  local r = c:converse{model='\(haiku)', messages='x'}
                  return r
                end)
                return {ok=ok, code=e.code, status=e.status, retryable=e.retryable, attempts=e.attempts,
                        log=#e.attempt_log, first=e.attempt_log[1].code, where=e.where, text=tostring(e),
                        rid=e.request_id}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "ThrottlingException")
            #expect(r.field("status") == 429)
            #expect(r.field("retryable") == true)
            #expect(r.field("attempts") == 2)
            #expect(r.field("log") == 2)
            #expect(r.field("first") == "ThrottlingException")
            #expect(r.field("where") == "test:3")
            #expect(r.field("text").stringValue?.hasPrefix("ThrottlingException: ") == true)
            #expect(r.field("rid").stringValue != nil)
        }
    }

    @Test func badRequestsFailBeforeSendingWithErrorsThatNameTheField() async throws {
        try await HostHarness.with { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local out = {}
                for i, req in ipairs{ {messages='x'}, {model='\(haiku)'}, {model='\(haiku)', messages='x', inference={max_tokens=-1}},
                                      {model='\(haiku)', messages={ {role='robot', content='x'} }}, 42 } do
                  local ok, e = pcall(bedrock.converse, req)
                  out[i] = e.code .. '|' .. e.message
                end
                return out
                """)
            guard case .array(let messages) = r else { Issue.record("no list"); return }
            let texts = messages.compactMap(\.stringValue)
            #expect(texts.count == 5)
            #expect(texts.allSatisfy { $0.hasPrefix("ValidationError|bedrock.converse: ") })
            #expect(texts[0].contains("'model' is required"))
            #expect(texts[1].contains("'messages' is required"))
            #expect(texts[2].contains("max_tokens"))
            #expect(texts[3].contains("role"))
            #expect(texts[4].contains("expected a table"))
            #expect(h.emulator.requests.count == before)
        }
    }

    @Test func utilitiesJSONLogUUIDAndOutput() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local id1, id2 = uuid(), uuid()
                log.info('user', 42, 'key', 'AKIAABCDEFGHIJKLMNOP', 'done')
                log.warn('careful')
                log.error('bad')
                write('no', ' ', 'newline', 1, '\\n')
                stderr.write('to stderr\\n')
                local ok1, e1 = pcall(json.decode, '{"a": [1, 2,]}')
                local ok2, e2 = pcall(json.encode, {f = print})
                local ok3, e3 = pcall(json.encode, 0/0)
                return {id1 = id1, same = id1 == id2, back = json.decode(json.encode({a = {1, 2}, b = json.null, c = 'x'})),
                        limits = json.encode(sandbox.limits), e1 = e1.code .. ' ' .. e1.message, e2 = e2.code, e3 = e3.code,
                        empty = json.encode(json.empty_array()), pretty = json.encode({a = 1}, {pretty = true})}
                """)
            #expect(
                r.field("id1").stringValue?.range(
                    of: #"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#,
                    options: .regularExpression) != nil)
            #expect(r.field("same") == false)
            #expect(r.field("back").field("a") == .array([1, 2]))
            #expect(r.field("back").field("b") == .null)
            #expect(r.field("limits").stringValue?.contains("\"memory_bytes\":67108864") == true)
            #expect(r.field("e1").stringValue?.hasPrefix("JSONError json.decode: invalid JSON at byte") == true)
            #expect(r.field("e2") == "JSONError" && r.field("e3") == "JSONError")
            #expect(r.field("empty") == "[]")
            #expect(r.field("pretty") == "{\n  \"a\": 1\n}")
            #expect(h.output.text == "no newline1\n")
            #expect(h.errors.text == "to stderr\n")
            let logs = h.logs.text
            #expect(logs.contains("info user 42 key [redacted] done"))
            #expect(logs.contains("warning careful") && logs.contains("error bad"))
            #expect(!logs.contains("AKIAABCDEFGHIJKLMNOP"))
        }
    }

    @Test func defaultModelIsUsedWhenARequestHasNone() async throws {
        try await HostHarness.with(defaultModel: nova) { h in
            let r = try await h.value("return bedrock.converse{messages='hi'}.model")
            #expect(r == .string(nova))
            h.host.defaultModel = haiku
            #expect(try await h.value("return bedrock.converse{messages='hi'}.model") == .string(haiku))
        }
    }
}
