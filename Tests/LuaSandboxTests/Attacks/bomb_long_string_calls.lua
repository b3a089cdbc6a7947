-- expect: limit instructions
-- limits: instructions=2000000 seconds=30
-- Item 1 of issue 16: library functions that are linear in a long string argument
-- (utf8.len, upper, byte, format, ...) each ran as one call for the hooks, so a loop of
-- them over 16 MiB ran far past the budget between clock reads. Their bytes are
-- charged now, and the budget stops the loop after a few calls.
local s = ("xxxxxxxxxxxxxxxx"):rep(1 << 20)
for _ = 1, 1e9 do local n = utf8.len(s) end
return "done"
