-- expect: limit instructions
-- limits: instructions=5000000
-- Row 4 of issue 16, with an order function: the comparisons of long strings inside
-- it are charged by their length too.
local s = ("y"):rep(1 << 20)
local t = {}
for i = 1, 300 do t[i] = s end
table.sort(t, function(a, b) return a < b end)
return "done"
