-- expect: limit instructions
-- limits: instructions=2000000 seconds=30
-- Many cheap-looking pattern calls over a long subject: each is charged for the bytes
-- it scans, so the loop uses up the budget instead of running free in C.
local s = ("ab"):rep(500000)
for i = 1, 1e9 do s:find("b%d") end
