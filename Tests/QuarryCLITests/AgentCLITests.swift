import Foundation
import Testing

/// `bedrock.agent` through the real binary against the built-in emulator (issue 18 §4).
@Suite struct AgentCLITests {
    private func run(_ body: String) throws -> QuarryProcess.Result {
        let path = try QuarryProcess.script(body, prefix: "quarry-agent")
        return try QuarryProcess.run(["run", "--target", "emulator", "--quiet", path], environment: HostCLITests.noAWS)
    }

    private static let weather = """
        local haiku = 'anthropic.claude-3-haiku-20240307-v1:0'
        local tools = { weather = { description = 'Weather for a city',
          schema = {type='object', properties={city={type='string'}}, required={'city'}},
          run = function(input) error({code = 'CityClosed', message = 'no forecast today'}) end } }
        """

    @Test("a tool that raises an error table reaches the model as code: message")
    func toolErrorTableIsCodeAndMessage() throws {
        let r = try run(
            Self.weather + """

                local seen
                local res = bedrock.agent{ model = haiku, prompt = 'What is the weather in Paris? Use the weather tool.',
                  max_turns = 3, tools = tools, on_tool = function(_, _, ok, out) seen = ok end }
                for _, m in ipairs(res.messages) do
                  if type(m.content) == 'table' then
                    for _, b in ipairs(m.content) do
                      if b.type == 'tool_result' then print('RESULT', b.status, tostring(b.content)) end
                    end
                  end
                end
                print('OK', seen)
                """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("RESULT\terror\tCityClosed: no forecast today"), "\(r.stdout)")
        #expect(!r.stdout.contains("table: 0x"), "\(r.stdout)")
        #expect(r.stdout.contains("OK\tfalse"))
    }

    @Test("unknown fields are rejected as in converse")
    func unknownFieldsAreRejected() throws {
        let r = try run(
            Self.weather + """

                local ok, e = pcall(bedrock.agent, { model = haiku, prompt = 'hi', tools = tools, max_turn = 2 })
                print(e.code, e.message)
                """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "ValidationError\tbedrock.agent: unknown field 'max_turn' (known: client, inference, max_turns"),
            "\(r.stdout)")
    }

    @Test("on_text and on_event stream every turn")
    func callbacksStreamTheTurns() throws {
        let r = try run(
            """
            local haiku = 'anthropic.claude-3-haiku-20240307-v1:0'
            local text, events, stops = {}, 0, 0
            local res = bedrock.agent{ model = haiku, prompt = 'What is the weather in Paris? Use the weather tool.',
              max_turns = 4,
              tools = { weather = { description = 'Weather for a city',
                schema = {type='object', properties={city={type='string'}}, required={'city'}},
                run = function() return 'sunny' end } },
              on_text = function(t) text[#text + 1] = t end,
              on_event = function(ev) events = events + 1; if ev.type == 'message_stop' then stops = stops + 1 end end }
            print('TURNS', res.turns, 'STOPS', stops, 'EVENTS', events > 0)
            print('STREAMED', #res.text > 0 and table.concat(text):sub(-#res.text) == res.text)
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("EVENTS\ttrue"), "\(r.stdout)")
        #expect(r.stdout.contains("STREAMED\ttrue"), "\(r.stdout)")
        // One message_stop per turn: every turn streamed.
        let turns = r.stdout.split(separator: "\n").first { $0.hasPrefix("TURNS") }?.split(separator: "\t") ?? []
        #expect(turns.count == 6 && turns[1] == turns[3] && turns[1] != "1", "\(r.stdout)")
    }
}
