-- The Lua side of the lua<->swift conversion benchmark: a typical Converse request table and
-- the loops the benchmark times. Embedded at build time; see LuaConversionBench.swift.
request = {
  model = "anthropic.claude-3-haiku-20240307-v1:0",
  system = "You are a concise assistant.",
  messages = {
    { role = "user", content = { { text = "Summarise the following paragraph in one sentence." } } },
    { role = "assistant", content = { { text = "Please give me the paragraph." } } },
    { role = "user", content = { { text = "The quick brown fox jumps over the lazy dog." } } },
  },
  inference = { max_tokens = 512, temperature = 0.5, stop_sequences = { "END" } },
}
function convert_loop(n) for i = 1, n do local r = convert(request) end end
function noop_loop(n) for i = 1, n do noop() end end
