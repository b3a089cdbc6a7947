-- expect: error stack overflow
-- C recursion through gsub callbacks stops at Lua's C-stack limit (on our 16 MiB thread).
local function f(s) return (s:gsub(".", f)) end
return f("x")
