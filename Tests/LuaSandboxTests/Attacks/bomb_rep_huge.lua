-- expect: error string.rep
-- The real bomb at the default limits: refused at once.
return #string.rep("", 2^53)
