-- expect: error string.rep
-- limits: rangeItems=1000
-- string.rep("", 2^53) loops in C with no hook; the count is bounded.
return #string.rep("", 3000000)
