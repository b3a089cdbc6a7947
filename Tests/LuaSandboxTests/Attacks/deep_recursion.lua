-- expect: error stack overflow
-- limits: memoryBytes=200000000
local function f(n) return 1 + f(n + 1) end
return f(1)
