-- expect: error exceeds the limit
-- limits: rangeItems=1000
-- __len lies: table.insert would shift every element in one C loop.
local t = setmetatable({}, {__len = function() return 3000000 end})
table.insert(t, 1, "x")
return "done"
