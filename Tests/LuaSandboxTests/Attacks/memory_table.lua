-- expect: limit memory
-- limits: memoryBytes=16000000
local t = {}
for i = 1, 1e9 do t[i] = i end
