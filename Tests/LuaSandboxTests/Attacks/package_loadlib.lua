-- expect: ok
-- package.loadlib and friends: no path to the registry's loaded libraries.
assert(package == nil)
for _, name in ipairs({"string", "table", "math", "utf8", "coroutine", "os"}) do
  local lib = _G[name]
  assert(lib.loadlib == nil and lib.loaded == nil, name .. " leaks package functions")
end
assert(getmetatable("") == "locked", "string metatable is reachable")
assert(getmetatable(string) == "locked", "library metatable is reachable")
return "ok"
