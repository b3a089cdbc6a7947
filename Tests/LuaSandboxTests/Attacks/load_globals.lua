-- expect: ok
-- load binds the sandbox's globals (never a richer global table), or the env it is given.
sandbox_marker = "mine"
assert(load("return sandbox_marker")() == "mine", "load does not see the sandbox globals")
assert(load("return io, os.execute, debug, package")() == nil, "load sees unsafe globals")
assert(load("return print", "=x", "t", {})() == nil, "explicit env ignored")
local pieces, i = {"return ", "1 + ", "1"}, 0
assert(load(function() i = i + 1 return pieces[i] end)() == 2, "reader function broken")
return "ok"
