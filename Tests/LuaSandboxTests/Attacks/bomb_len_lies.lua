-- expect: ok
-- limits: rangeItems=1000
-- Row 3 of issue 16: a __len that answers small once and huge the second time. The
-- wrapper used to check the first answer while the original function used the second
-- (~10^15 steps in C with a bigger lie). Every table function now reads the length
-- exactly once and works over that range.
local calls
local function liar() calls = calls + 1 return calls == 1 and 2 or 500000 end
local function lying() calls = 0 return setmetatable({ "a", "b" }, { __len = liar }) end
local function once(name, f)
  local t = lying()
  f(t)
  assert(calls == 1, name .. " read the length " .. calls .. " times")
  for k in pairs(t) do
    assert(math.type(k) ~= "integer" or k <= 3, name .. " touched index " .. tostring(k))
  end
end
once("insert at", function(t) table.insert(t, 1, "x") end)
once("insert", function(t) table.insert(t, "x") end)
once("remove at", function(t) table.remove(t, 1) end)
once("remove", function(t) table.remove(t) end)
once("concat", function(t) assert(table.concat(t, ",") == "a,b") end)
once("unpack", function(t) assert(select("#", table.unpack(t)) == 2) end)
once("sort", function(t) table.sort(t) end)
-- A first answer past the range limit is refused before any work.
local huge = setmetatable({}, { __len = function() return 2^30 end })
for name, f in pairs({
  insert = function() table.insert(huge, 1, "x") end, remove = function() table.remove(huge, 1) end,
  concat = function() table.concat(huge) end, unpack = function() table.unpack(huge) end,
  sort = function() table.sort(huge) end,
}) do
  local ok, err = pcall(f)
  assert(not ok and err:find("exceeds the limit"), name .. ": " .. tostring(err))
end
return "ok"
