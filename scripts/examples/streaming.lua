-- Streaming: print the answer token by token as it arrives, then the totals from the
-- accumulated result (the same table bedrock.converse returns).
--   quarry run scripts/examples/streaming.lua ["your prompt"]
local prompt = arg[1] or "Write a short paragraph about rivers and stones."
local stream = bedrock.stream{
  model = "anthropic.claude-3-haiku-20240307-v1:0",
  messages = prompt,
  inference = { max_tokens = 300 },
}
local first, started = nil, now()
for event in stream do
  if event.type == "text" then
    first = first or now()
    write(event.text)
  end
end
write("\n")
local r = stream.result
print(string.format("-- %s: %d tokens out, first token after %.0f ms, done in %.0f ms",
  r.stop_reason, r.usage.output_tokens, ((first or now()) - started) * 1000, (now() - started) * 1000))
