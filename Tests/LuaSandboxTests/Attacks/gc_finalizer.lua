-- expect: error __gc is not allowed
-- output-lacks: finalizer ran
-- Finalizers run with hooks off (also at close): setmetatable refuses __gc.
local t = setmetatable({}, {__gc = function() print("finalizer ran") end})
t = nil
return "accepted"
