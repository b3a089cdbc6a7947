-- A parallel batch: one Converse call per prompt (a line of standard input, or the
-- arguments), 8 at a time, with a progress bar on stderr; results print in input order.
--   quarry run scripts/examples/map_prompts.lua < scripts/examples/prompts.txt
local prompts = {}
for i = 1, #arg do prompts[#prompts + 1] = arg[i] end
if #prompts == 0 then
  for line in stdin.lines() do
    if line:match("%S") then prompts[#prompts + 1] = line end
  end
end
assert(#prompts > 0, "give prompts as arguments or one per line on standard input")

local done, width = 0, 30
local function progress()
  local filled = math.floor(width * done / #prompts)
  stderr.write(string.format("\r[%s%s] %d/%d", string.rep("#", filled), string.rep(".", width - filled), done, #prompts))
end

local started = now()
local answers, failures = map(prompts, function(prompt)
  local r = bedrock.converse{ model = "amazon.nova-micro-v1:0", messages = prompt, inference = { max_tokens = 60 } }
  done = done + 1
  progress()
  return r
end, { concurrency = 8, settle = true })
stderr.write("\n")

local tokens, failed = 0, 0
for i, prompt in ipairs(prompts) do
  local r = answers[i]
  if r then
    tokens = tokens + r.usage.total_tokens
    print(string.format("%3d. %s\n     %s", i, prompt, r.text))
  else
    failed = failed + 1
    print(string.format("%3d. %s\n     FAILED: %s", i, prompt, tostring(failures[i])))
  end
end
local function count(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end
print(string.format("-- %s, %d failed, %s, %.2f s", count(#prompts, "prompt"), failed, count(tokens, "token"),
  now() - started))
