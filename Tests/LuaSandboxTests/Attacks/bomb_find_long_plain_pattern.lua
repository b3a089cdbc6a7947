-- expect: limit instructions
-- limits: instructions=2000000 seconds=30
-- Audit of issue 16's matcher: find read a long pattern (checking it for magic
-- characters) without charging it, and returned early when it was longer than the
-- subject; a loop of such calls ran far past the deadline between clock reads.
local p = ("abcdefghijklmnop"):rep(1 << 20)
for _ = 1, 1e9 do string.find("", p) end
return "done"
