-- expect: limit instructions
-- limits: instructions=2000000 seconds=20
-- Audit of issue 16's matcher: a single set item of 1 MiB was charged one step per
-- test, though finding its end and testing a byte against it each scan the whole set;
-- one find over a short subject ran for seconds past every limit. Set scans are
-- charged by their length now.
local set = "[" .. ("a"):rep(1 << 20) .. "]"
print(string.find(("x"):rep(300), set))
return "done"
