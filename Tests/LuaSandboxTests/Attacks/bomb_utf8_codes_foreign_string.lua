-- expect: error invalid UTF-8 code
-- limits: instructions=200000 seconds=3
-- Audit of issue 16: utf8.codes' iterator, called with another string than the one it
-- was made for, skipped a run of millions of continuation bytes per call, uncharged.
-- A run of more than 3 is refused before the original iterator runs.
local s = "a" .. ("\x80"):rep(16):rep(1 << 20)
local f = utf8.codes("a")
for _ = 1, 1e6 do f(s, 1) end
return "done"
