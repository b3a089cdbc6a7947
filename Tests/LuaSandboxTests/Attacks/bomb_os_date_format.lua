-- expect: limit instructions
-- limits: instructions=2000000 seconds=15
-- Audit of issue 16: os.date's work is linear in its format, charged as one call.
local f = ("%%"):rep(8):rep(1 << 18)
for _ = 1, 1e9 do local _ = os.date(f, 0) end
return "done"
