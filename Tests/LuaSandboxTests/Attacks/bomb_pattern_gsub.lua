-- expect: error pattern too costly
-- limits: patternCost=1000000
return (("a"):rep(2000)):gsub("a*a*b", "")
