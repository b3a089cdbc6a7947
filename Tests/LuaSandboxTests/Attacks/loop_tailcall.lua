-- expect: limit instructions
-- limits: instructions=2000000
local function f(n) return f(n + 1) end
return f(0)
