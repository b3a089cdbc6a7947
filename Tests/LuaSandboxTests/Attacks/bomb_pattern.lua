-- expect: error pattern too costly
-- limits: patternCost=1000000
-- Catastrophic backtracking grows as n^4 inside one C call; the matcher counts its
-- steps and stops the call at the limit.
return ("a"):rep(300):find(".-.-.-b")
