-- Quickstart: ask a model one question.
-- Without AWS credentials, quarry answers with its built-in Bedrock emulator, so this
-- runs on any machine: `scripts/quarry run scripts/examples/quickstart.lua [MODEL]`.
local model = arg[1] or "anthropic.claude-3-haiku-20240307-v1:0"
local reply = bedrock.converse{
  model = model,
  messages = "In one sentence, what is Amazon Bedrock?",
  inference = { max_tokens = 120 },
}
print(reply.text)
print(string.format("-- %s: %d tokens in, %d out, stop reason %s, %.0f ms",
  model, reply.usage.input_tokens, reply.usage.output_tokens, reply.stop_reason, reply.latency_ms))
