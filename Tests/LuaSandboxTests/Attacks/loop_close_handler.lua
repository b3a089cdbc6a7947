-- expect: limit instructions
-- limits: instructions=2000000
-- A __close handler cannot swallow the limit or run forever.
pcall(function()
  local guard <close> = setmetatable({}, {__close = function() while true do end end})
  while true do end
end)
return "escaped"
