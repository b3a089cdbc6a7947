-- N sequential Converse calls; prints one JSON line (client CPU from os.clock()).
-- quarry run converse_seq.lua N
local n = tonumber(arg[1]) or 1000
local model = "anthropic.claude-3-haiku-20240307-v1:0"
bedrock.converse{ model = model, messages = "hi" }   -- warm-up: connection, first use
local c0, t0 = os.clock(), now()
for _ = 1, n do
  bedrock.converse{ model = model, messages = "hi" }
end
local c1, t1 = os.clock(), now()
print(json.encode{ requests = n, seconds = t1 - t0, rps = n / (t1 - t0),
                   cpu_ms_per_request = (c1 - c0) * 1000 / n })
