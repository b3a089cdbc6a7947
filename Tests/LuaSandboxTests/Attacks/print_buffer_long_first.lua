-- expect: ok
-- Row 1 of issue 16: `print` pushed luaL_tolstring's result and then added a separator
-- to a luaL_Buffer whose box was no longer on top of the stack: with a first argument
-- longer than the buffer's initial space, the next argument corrupted the heap
-- (SIGSEGV, or immutable Lua strings overwritten). Print long, many and odd arguments,
-- then check that no string in the state changed and the printed bytes are exact
-- (the host test `printWritesExactlyTheJoinedArguments` checks the bytes).
local big = ("A"):rep(4096)
local canary = ("canary-"):rep(600)
local copy = canary .. ""
for round = 1, 10 do
  print(big, "x", 1, 2.5, true, nil, big)
  print(("B"):rep(3000 + round), {}, "tail")
  local many = {}
  for i = 1, 100 do many[i] = (i % 10 == 0) and ("C"):rep(3000) or i end
  print(table.unpack(many))
end
assert(big == ("A"):rep(4096), "a printed string changed")
assert(canary == copy and #canary == 4200, "an unrelated string changed")
return "ok"
