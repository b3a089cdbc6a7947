-- expect: limit instructions
-- limits: instructions=2000000
while true do end
