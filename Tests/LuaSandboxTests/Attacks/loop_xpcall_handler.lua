-- expect: limit instructions
-- limits: instructions=2000000
-- output-lacks: handler ran
-- The hook's error would run the handler with hooks off; the sandbox skips it.
xpcall(function() while true do end end, function(e)
  local x = 0
  for i = 1, 3000000 do x = x + i end
  print("handler ran")
  return e
end)
return "escaped"
