-- expect: ok
-- Binary chunks (Debian's 5.4.4 crashes on corrupted ones) are refused in every mode.
local corrupt = "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64\1"
  .. ("\255"):rep(40)
local f, err = load(corrupt)
assert(f == nil and err:find("binary"), "binary chunk accepted: " .. tostring(err))
local ok, e = pcall(load, corrupt, "x", "b")
assert(not ok and e:find("only text chunks"), "mode 'b' accepted: " .. tostring(e))
local f2, err2 = load(corrupt, "x", "bt")
assert(f2 == nil and err2:find("binary"), "mode 'bt' accepted a binary chunk")
return "ok"
