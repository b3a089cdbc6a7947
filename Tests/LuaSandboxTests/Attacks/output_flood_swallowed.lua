-- expect: limit output
-- limits: outputBytes=10000
for i = 1, 1000 do pcall(print, ("x"):rep(100)) end
return "escaped"
