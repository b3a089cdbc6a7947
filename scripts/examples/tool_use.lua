-- Tool use with bedrock.agent: the model asks for tools, the agent runs the Lua
-- functions and sends their results back, until the model answers.
--   quarry run scripts/examples/tool_use.lua ["question"]
local question = arg[1] or "What is the weather in Lisbon? Use the weather tool."

local forecasts = { lisbon = "sunny, 24°C", oslo = "snow, -3°C", lima = "cloudy, 19°C" }

local result = bedrock.agent{
  model = "anthropic.claude-3-haiku-20240307-v1:0",
  prompt = question,
  max_turns = 4,
  tools = {
    weather = {
      description = "Current weather for a city",
      schema = { type = "object", properties = { city = { type = "string" } }, required = { "city" } },
      run = function(input)
        local city = tostring(input.city or ""):lower()
        return forecasts[city] or ("no forecast for " .. tostring(input.city))
      end,
    },
  },
  on_tool = function(name, input, ok, output)
    stderr.write(string.format("[tool] %s(%s) -> %s\n", name, json.encode(input), tostring(output)))
  end,
}
print(result.text)
local function count(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end
print(string.format("-- %s, %s", count(result.turns, "turn"), count(result.usage.total_tokens, "token")))
