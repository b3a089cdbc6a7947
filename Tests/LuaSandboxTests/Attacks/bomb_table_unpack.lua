-- expect: error exceeds the limit
-- limits: rangeItems=1000
local t = setmetatable({}, {__index = rawlen})
return select("#", table.unpack(t, 1, 500000))
