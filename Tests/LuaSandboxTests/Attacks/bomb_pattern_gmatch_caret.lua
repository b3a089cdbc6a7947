-- expect: error pattern too costly
-- limits: patternCost=10000000
-- Row 2 of issue 16: in Lua 5.4's gmatch a leading '^' is an ordinary character, not
-- an anchor; the old estimate treated it as one and let a quadratic scan through.
local s = ("^a"):rep(10000)
local n = 0
for _ in s:gmatch("^a.-b") do n = n + 1 end
return n
