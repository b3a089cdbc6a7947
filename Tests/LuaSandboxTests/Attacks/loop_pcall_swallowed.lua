-- expect: limit instructions
-- limits: instructions=2000000
-- The limit is sticky: catching it does not buy more time, and the run still fails.
for i = 1, 100 do
  pcall(function() while true do end end)
end
return "escaped"
