-- expect: limit memory
-- limits: memoryBytes=16000000
local s = "x"
while true do s = s .. s end
