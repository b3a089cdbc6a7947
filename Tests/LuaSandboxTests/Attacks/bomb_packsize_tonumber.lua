-- expect: limit instructions
-- limits: instructions=2000000 seconds=15
-- Audit of issue 16: string.packsize and tonumber are linear in their string argument,
-- charged as one call.
local f = ("b"):rep(16):rep(1 << 20)
local digits = ("1111111111111111"):rep(1 << 19)
for _ = 1, 1e9 do
  local _ = string.packsize(f)
  local _ = tonumber(digits)
end
return "done"
