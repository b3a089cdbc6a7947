-- Consumes one ConverseStream end to end, counting events; prints one JSON line.
-- quarry run stream_large.lua
local model = "anthropic.claude-3-haiku-20240307-v1:0"
local t0 = now()
local events = 0
for _ in bedrock.stream{ model = model, messages = "hi" } do
  events = events + 1
end
local t1 = now()
print(json.encode{ events = events, seconds = t1 - t0, events_per_second = events / (t1 - t0) })
