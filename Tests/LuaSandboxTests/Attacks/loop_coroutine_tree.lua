-- expect: limit instructions
-- limits: instructions=5000000
-- A tree of short coroutines, each under the hook's count, must still use up the budget.
local function node(depth)
  local x = 0
  for i = 1, 150 do x = x + i end
  if depth > 0 then
    for _ = 1, 2 do coroutine.wrap(node)(depth - 1) end
  end
end
node(16)
return "escaped"
