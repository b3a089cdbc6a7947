-- Chat with history: each turn sends the whole conversation, and the model's reply is
-- appended as the assistant turn (`reply.message`), as the Converse API expects.
--   quarry run scripts/examples/chat.lua                 (a scripted conversation)
--   quarry run scripts/examples/chat.lua < questions.txt (one user turn per line)
--   quarry run scripts/examples/chat.lua amazon.nova-micro-v1:0 (another model; scripts
--   read no environment, so the model comes as an argument)
local model = arg[1] or "anthropic.claude-3-haiku-20240307-v1:0"
local system = "You are a concise assistant. Answer in one or two sentences."

local turns = {}
for line in stdin.lines() do
  if line:match("%S") then turns[#turns + 1] = line end
end
if #turns == 0 then
  turns = { "My name is Ada and I like rivers.", "What is my name?", "What do I like?" }
end

local messages = {}
local used = 0
for i, question in ipairs(turns) do
  messages[#messages + 1] = { role = "user", content = question }
  local reply = bedrock.converse{ model = model, system = system, messages = messages,
                                  inference = { max_tokens = 200 } }
  messages[#messages + 1] = reply.message
  used = used + reply.usage.total_tokens
  print(string.format("you> %s", question))
  print(string.format("bot> %s", reply.text))
end
local function count(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end
print(string.format("-- %s, %s in history, %s", count(#turns, "turn"), count(#messages, "message"), count(used, "token")))
