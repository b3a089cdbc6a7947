-- expect: limit instructions
-- limits: instructions=2000000
::top:: goto top
