-- expect: error exceeds the limit
-- limits: rangeItems=1000
local t = setmetatable({}, {__index = rawlen, __len = function() return 300000 end})
table.sort(t)
return "done"
