-- The user's stream loop (issue 22): one ConverseStream, reading each text event's
-- `text`; prints one JSON line with events/s and client CPU µs per event (os.clock(),
-- the whole process: the pump's threads as well as Lua). One stream is read whole first
-- and not measured, as the Converse workloads make a first call (so do the peers).
-- quarry run stream_text.lua
local model = "anthropic.claude-3-haiku-20240307-v1:0"
local function read_texts()
  local events, n = 0, 0
  for ev in bedrock.stream{ model = model, messages = "hi" } do
    events = events + 1
    if ev.type == "text" then n = n + #ev.text end
  end
  return events, n
end
read_texts()   -- warm-up: connection, first use
local c0, t0 = os.clock(), now()
local events, n = read_texts()
local c1, t1 = os.clock(), now()
print(json.encode{ events = events, text_bytes = n, seconds = t1 - t0, events_per_second = events / (t1 - t0),
                   cpu_us_per_event = (c1 - c0) * 1e6 / events })
