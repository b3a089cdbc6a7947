-- expect: limit memory
-- limits: memoryBytes=8000000
-- A result past the memory cap trips the memory limit before any byte is built (issue 18).
return #("x"):rep(20000000)
