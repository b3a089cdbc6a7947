-- Model comparison: the same prompt to several models at once, as a table.
--   quarry run scripts/examples/compare_models.lua ["prompt"]
local prompt = arg[1] or "Describe a quarry in one sentence."
local models = {
  "anthropic.claude-3-haiku-20240307-v1:0",
  "amazon.nova-micro-v1:0",
  "meta.llama3-8b-instruct-v1:0",
  "mistral.mistral-7b-instruct-v0:2",
  "cohere.command-r-v1:0",
}
local results, errors = map(models, function(model)
  local t = now()
  local r = bedrock.converse{ model = model, messages = prompt, inference = { max_tokens = 80 } }
  r.wall_ms = (now() - t) * 1000
  return r
end, { settle = true })

local function cut(s, n) s = s:gsub("%s+", " "); return #s > n and s:sub(1, n - 1) .. "…" or s end
print(string.format("%-42s %6s %6s %8s  %s", "model", "in", "out", "ms", "answer"))
print(string.rep("-", 110))
for i, model in ipairs(models) do
  local r = results[i]
  if r then
    print(string.format("%-42s %6d %6d %8.0f  %s", model, r.usage.input_tokens, r.usage.output_tokens, r.wall_ms, cut(r.text, 40)))
  else
    print(string.format("%-42s %s", model, "error: " .. tostring(errors[i])))
  end
end
