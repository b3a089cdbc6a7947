-- expect: ok
-- Item 1 of issue 16: the C functions whose work is bounded by a check in Lua itself or
-- by the memory cap (see Sources/LuaSandbox/SANDBOX.md): each edge gives a clean error
-- or a small result, never a long C loop.
local function fails(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "succeeded: " .. pattern)
  assert(tostring(err):find(pattern), pattern .. " / " .. tostring(err))
end
-- string.format: widths and precisions have at most two digits
fails("invalid conversion", string.format, "%100d", 1)
fails("invalid conversion", string.format, "%.100f", 1)
assert(#string.format("%99.99f", 1e308) < 500)
-- string.rep: short strings are range-limited; a result past the memory cap trips the
-- memory limit like any allocation (the run ends: QuarryCLITests.NewcomerPathTests)
fails("repetitions exceed the limit", string.rep, "", 2^53)
-- byte/char/codepoint/unpack: results are bounded by the Lua stack
fails("string slice too long", string.byte, ("x"):rep(2000000), 1, -1)
fails("string slice too long", utf8.codepoint, ("x"):rep(2000000), 1, -1)
fails("too many results", table.unpack, {}, 1, 1e6)
fails("value out of range", utf8.char, 2^31)
assert(select("#", string.byte(("x"):rep(1000), 1, -1)) == 1000)
-- select and math.random with extreme arguments
assert(select("#", select(-1, 1, 2, 3)) == 1)
fails("index out of range", select, -5, 1)
fails("interval is empty", math.random, 3, 1)
for _ = 1, 1000 do
  local r = math.random(math.mininteger, math.maxinteger)
  assert(math.type(r) == "integer")
  local r2 = math.random(0)
  assert(math.type(r2) == "integer")
end
-- string.pack/unpack: sizes are limited (padding is bounded by the memory cap)
fails("out of limits", string.pack, "i17", 1)
fails("too large", string.packsize, ("c1000000000"):rep(3))
fails("too short", string.unpack, "c1000000000", "abc")
-- os.date: conversions are checked, huge times refused
fails("invalid conversion", os.date, "%Ez")
fails("cannot be represented", os.date, "%c", 2^60)
assert(#os.date(("%c"):rep(100), 0) > 100)
-- tostring and __index chains stop at Lua's limits
local t = setmetatable({}, {})
getmetatable(t).__tostring = function(self) return tostring(self) end
fails("stack overflow", tostring, t)
local loop = setmetatable({}, {})
getmetatable(loop).__index = loop
fails("chain too long", function() return loop.x end)
-- load: the source is capped (1 MiB by default) and charged
fails("exceeds the limit", load, ("x = 1 "):rep(200000))
return "ok"
