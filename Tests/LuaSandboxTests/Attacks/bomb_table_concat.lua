-- expect: error exceeds the limit
-- limits: rangeItems=1000
-- rawlen as __index answers every index without running Lua code (no hook).
local t = setmetatable({}, {__index = rawlen})
return #table.concat(t, "", 1, 3000000)
