-- expect: error pattern too costly
-- limits: patternCost=1000000
-- Catastrophic backtracking grows as n^4 inside one C call; the estimate refuses it.
return ("a"):rep(60):find(".-.-.-b")
