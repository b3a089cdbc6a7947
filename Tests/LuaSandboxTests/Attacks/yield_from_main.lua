-- expect: ok
-- The script's main body runs in a scheduler coroutine; yielding there is the usual
-- error (catchable), never a way to end the run early or confuse the scheduler.
local ok, err = pcall(coroutine.yield, 1)
assert(not ok and err:find("outside a coroutine"), tostring(err))
assert(coroutine.isyieldable() == false)
assert(coroutine.wrap(function() return coroutine.isyieldable() end)() == true)
return "ok"
