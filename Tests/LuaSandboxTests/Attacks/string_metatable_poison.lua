-- expect: ok
-- Poisoning the string metatable or library tables must fail.
local evil = function() return "poisoned" end
assert(not pcall(function() getmetatable("").__index = {upper = evil} end))
assert(not pcall(setmetatable, "", {}))
assert(not pcall(function() string.upper = evil end), "string.upper assignable")
assert(not pcall(rawset, string, "upper", evil), "rawset on string library allowed")
assert(not pcall(function() table.insert = evil end), "table library writable")
assert(not pcall(rawset, math, "pi", 3), "rawset on math allowed")
assert(not pcall(setmetatable, string, {}), "library metatable replaceable")
assert(not pcall(function() coroutine.wrap = evil end))
assert(("abc"):upper() == "ABC" and string.upper("a") == "A", "poisoned")
-- the iterator of a read-only table must not hand out the real table
local f, s = pairs(string)
assert(s == string, "pairs exposes the real library table")
assert(not pcall(rawset, s, "upper", evil))
return "ok"
