-- expect: ok
-- Row 1 of issue 16: a __tostring that allocates (and collects) while `print` builds
-- its line must not disturb the line being built or any other string.
local mt = {}
mt.__tostring = function(self)
  local junk = {}
  for i = 1, 200 do junk[i] = ("Z"):rep(100 + i) .. i end
  collectgarbage("count")
  return ("T"):rep(self.n)
end
local objects = {}
for i = 1, 20 do objects[i] = setmetatable({ n = 300 * i }, mt) end
local big = ("Q"):rep(5000)
for _ = 1, 10 do print(big, table.unpack(objects)) end
assert(big == ("Q"):rep(5000))
-- a __tostring that fails or yields gives a clean error, and print still works after
local bad = setmetatable({}, { __tostring = function() error("no text") end })
local ok, err = pcall(print, big, bad)
assert(not ok and tostring(err):find("no text"), tostring(err))
local notstring = setmetatable({}, { __tostring = function() return {} end })
ok, err = pcall(print, big, notstring)
assert(not ok and tostring(err):find("must return a string"), tostring(err))
local co = coroutine.wrap(function()
  print(big, setmetatable({}, { __tostring = function() coroutine.yield() return "y" end }))
end)
ok, err = pcall(co)
assert(not ok and tostring(err):find("yield"), tostring(err))
print("after")
return "ok"
