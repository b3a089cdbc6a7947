-- expect: error exceeds the limit
-- limits: rangeItems=1000
local t = setmetatable({}, {__len = function() return 3000000 end})
table.remove(t, 1)
return "done"
