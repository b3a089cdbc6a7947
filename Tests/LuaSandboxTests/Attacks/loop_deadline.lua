-- expect: limit deadline
-- limits: instructions=100000000000 seconds=0.3
while true do end
