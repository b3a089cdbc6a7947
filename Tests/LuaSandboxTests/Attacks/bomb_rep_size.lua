-- expect: error string.rep
-- limits: memoryBytes=8000000
return #("x"):rep(20000000)
