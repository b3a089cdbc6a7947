-- The same N summaries two ways, for scripts/bench-batch: `map` over bedrock.converse at
-- concurrency 32 (on-demand calls from this machine), or one bedrock.batch job (the records
-- handed to Bedrock batch inference, then read back in order). Prints one line:
-- "<mode> <records> <seconds> <answers>".
local mode, n = arg[1], math.tointeger(tonumber(arg[2] or "10000"))
assert(mode == "map" or mode == "batch", "usage: batch_vs_map.lua map|batch N")
local model = "anthropic.claude-3-haiku-20240307-v1:0"
local prompts = {}
for i = 1, n do prompts[i] = "Summarise document " .. i .. " in one line." end

local t0 = now()
local answers = 0
if mode == "map" then
  local results = map(prompts, function(p)
    return bedrock.converse{model = model, messages = {{role = "user", content = p}},
                            inference = {max_tokens = 64}}.text
  end, {concurrency = 32})
  for _, text in ipairs(results) do if #text > 0 then answers = answers + 1 end end
else
  local records = {}
  for i, p in ipairs(prompts) do
    records[i] = {messages = {{role = "user", content = p}}, inference = {max_tokens = 64}}
  end
  local job = bedrock.batch{model = model, records = records, output = "s3://bench-batch/out/",
                            role_arn = "arn:aws:iam::123456789012:role/BatchRole",
                            on_progress = function() end}
  job:wait{poll = 0.2}
  for r in job:results() do if r.text and #r.text > 0 then answers = answers + 1 end end
end
print(string.format("%s %d %.2f %d", mode, n, now() - t0, answers))
