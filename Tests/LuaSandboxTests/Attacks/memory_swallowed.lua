-- expect: limit memory
-- limits: memoryBytes=16000000
-- Catching "not enough memory" does not reset the limit: the run still fails.
local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = {} end end)
return ok
