-- N ConverseStreams open at once in one process (peak RSS is read from outside).
-- quarry run streams_many.lua N MAX_TOKENS
local n = tonumber(arg[1]) or 1000
local max_tokens = tonumber(arg[2]) or 40
local model = "anthropic.claude-3-haiku-20240307-v1:0"
local items = {}
for i = 1, n do items[i] = i end
local t0 = now()
local counts = map(items, function()
  local events = 0
  for _ in bedrock.stream{ model = model, messages = "hi", inference = { max_tokens = max_tokens } } do events = events + 1 end
  return events
end, { concurrency = n })
local t1 = now()
print(json.encode{ streams = #counts, seconds = t1 - t0 })
