-- expect: limit instructions
-- limits: instructions=2000000
do
  local x <close> = setmetatable({}, {__close = function() while true do end end})
end
return "escaped"
