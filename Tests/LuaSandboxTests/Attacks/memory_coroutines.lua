-- expect: limit memory
-- limits: memoryBytes=16000000 instructions=1000000000
local t = {}
while true do t[#t + 1] = coroutine.create(print) end
