-- expect: error pattern too costly
-- limits: patternCost=10000000
-- Row 2 of issue 16: a '$' that can fail makes "a*$" and "a-$" quadratic, which the
-- old cost estimate counted as linear (one find ran for hours past the deadline).
-- The matcher now counts its steps, so no pattern escapes the bound.
local s = ("a"):rep(20000) .. "b"
local ok, err = pcall(string.find, s, "a-$")
assert(not ok and err:find("pattern too costly"), "a-$: " .. tostring(err))
return s:find("a*$")
