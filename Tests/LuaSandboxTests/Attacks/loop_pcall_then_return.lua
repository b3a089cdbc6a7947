-- expect: limit instructions
-- limits: instructions=2000000
-- Even when the script swallows the error and returns at once, the run reports failure.
local ok = pcall(function() while true do end end)
return ok
