-- N Converse calls, `concurrency` in flight at once (map); prints one JSON line.
-- quarry run converse_conc.lua N CONCURRENCY
local n = tonumber(arg[1]) or 2000
local concurrency = tonumber(arg[2]) or 32
local model = "anthropic.claude-3-haiku-20240307-v1:0"
bedrock.converse{ model = model, messages = "hi" }
local items = {}
for i = 1, n do items[i] = i end
local c0, t0 = os.clock(), now()
map(items, function() return bedrock.converse{ model = model, messages = "hi" }.stop_reason end,
    { concurrency = concurrency })
local c1, t1 = os.clock(), now()
print(json.encode{ requests = n, seconds = t1 - t0, rps = n / (t1 - t0),
                   cpu_ms_per_request = (c1 - c0) * 1000 / n })
