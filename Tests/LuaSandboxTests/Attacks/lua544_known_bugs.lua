-- expect: ok
-- Item 10 of issue 16: the bugs lua.org lists for Lua 5.4.4 (fixed in 5.4.5/5.4.6), as
-- they stand in the sandbox (see Sources/LuaSandbox/SANDBOX.md for the whole list).
-- Loading a corrupted binary chunk can segfault: binary chunks are refused
-- (load_binary.lua); C-stack overflow with deep nesting of coroutine.close: the
-- nesting is bounded (coroutine_close_chain.lua). The others:

-- Lua can generate wrong code when _ENV is <const> (CVE-2022-28805; Debian's 5.4.4-2
-- carries the fix): the access is an ordinary error.
local f = load("local _ENV <const> = 11; X = 'hi'")
local ok, err = pcall(f)
assert(not ok and err:find("attempt to index a number value"), tostring(err))

-- Lua-stack overflow when the C stack overflows while handling an error
-- (CVE-2022-33099; fixed in Debian's 5.4.4-3): an error handler that fails forever.
local function handler(m) return select(2, xpcall(error, handler, m)) end
local ok2, err2 = xpcall(error, handler, "x")
assert(not ok2, "the handler chain succeeded")

-- GC target after a full collection in generational mode: scripts cannot switch modes.
for _, mode in ipairs({ "generational", "incremental", "collect", "step" }) do
  local ok3, err3 = pcall(collectgarbage, mode)
  assert(not ok3 and err3:find("only \"count\""), mode .. ": " .. tostring(err3))
end

-- utf8.codes does not raise an error on spurious continuation bytes: the sandbox does,
-- as 5.4.6 does.
local function codes(s, lax)
  local out = {}
  for p, c in utf8.codes(s, lax) do out[#out + 1] = p .. ":" .. c end
  return table.concat(out, " ")
end
assert(codes("aé€😀") == "1:97 2:233 4:8364 7:128512")
for _, bad in ipairs({ "a\x80b", "\x80", "é\x80", "\xbfabc", "ab\xe2\x82\xac\x80" }) do
  local ok4, err4 = pcall(codes, bad)
  assert(not ok4 and err4:find("invalid UTF%-8 code"), ("%q: %s"):format(bad, tostring(err4)))
end
local ok5 = pcall(codes, "a\x80", true)
assert(not ok5, "lax mode skipped a stray continuation byte")
return "ok"
