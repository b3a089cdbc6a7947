-- expect: limit instructions
-- limits: instructions=5000000
-- Row 4 of issue 16: table.sort of many references to one long string compared whole
-- strings inside one C call (100k references to a 16 MiB string took hours). The
-- sandbox's sort charges every comparison by the bytes it may scan, so it stops at
-- the budget. (Scaled down so that without the defence it ends at once.)
local s = ("x"):rep(1 << 20)
local t = {}
for i = 1, 300 do t[i] = s end
table.sort(t)
return "done"
