-- expect: limit output
-- limits: outputBytes=10000
while true do print(("x"):rep(100)) end
