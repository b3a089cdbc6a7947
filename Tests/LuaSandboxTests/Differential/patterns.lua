-- Differential test of the sandbox's own pattern matcher against Lua 5.4's.
-- Runs in a plain state: `string` is the stock library, `quarry_patterns` ours.
-- Generates patterns and subjects from a fixed seed and compares every result and
-- every error message of find, match, gmatch and gsub. Returns the number of cases.
local seed, cases = ...
seed = seed or 1
cases = cases or 20000
local stock, ours = string, quarry_patterns

-- a small deterministic generator (no math.random: its sequence is not ours to fix)
local state = seed
local function rand(n)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % n + 1
end
local function pick(list) return list[rand(#list)] end

local atoms = { "a", "b", "c", ".", "%a", "%d", "%s", "%w", "%p", "%u", "%l", "%x", "%c", "%g",
  "%A", "%D", "%S", "%W", "%.", "%%", "[ab]", "[^ab]", "[a-c]", "[%d%s]", "[]a]", "[^]]",
  "[a-]", "[-a]", "%z", "x", "1", " ", "-", "^", "$", "[%a_][%w_]", "\0", "[\0-\31]" }
local quants = { "", "", "", "*", "+", "-", "?" }
local specials = { "(", ")", "()", "%b()", "%bab", "%f[%w]", "%f[%W]", "%f[a]", "%1", "%2",
  "%0", "$", "^", "%", "[", "[a", "%b", "%f", "%fa", "(()", "((a))" }
local function gen_pattern()
  local parts = {}
  if rand(4) == 1 then parts[#parts + 1] = "^" end
  for _ = 1, rand(6) - 1 do
    local r = rand(10)
    if r <= 6 then parts[#parts + 1] = pick(atoms) .. pick(quants)
    elseif r <= 8 then
      parts[#parts + 1] = "(" .. pick(atoms) .. pick(quants) .. (rand(3) == 1 and pick(atoms) or "") .. ")"
    else parts[#parts + 1] = pick(specials) end
  end
  if rand(4) == 1 then parts[#parts + 1] = "$" end
  return table.concat(parts)
end
local letters = { "a", "b", "c", "1", "2", " ", "(", ")", "_", "x", "A", "\0", "^", "$", "%", "-", "\n" }
local function gen_subject()
  local parts = {}
  for _ = 1, rand(14) - 1 do parts[#parts + 1] = pick(letters) end
  return table.concat(parts)
end

local function pack(...) return { n = select("#", ...), ... } end
local function same(a, b)
  if a.n ~= b.n then return false end
  for i = 1, a.n do if a[i] ~= b[i] then return false end end
  return true
end
local function show(r)
  local out = {}
  for i = 1, r.n do out[i] = string.format("%q", r[i]) end
  return "(" .. table.concat(out, ", ") .. ")"
end
local function gm_all(lib, s, p, init)
  local out = {}
  for a, b, c in lib.gmatch(s, p, init) do
    out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
    if #out > 200 then break end
  end
  return table.concat(out, ";")
end
local repl_table = { a = "A", b = false, ["1"] = 7, ab = "AB" }
local function repl_fn(a, b) if a == "b" then return nil end return "<" .. tostring(a) .. tostring(b) .. ">" end
local repls = { "%0", "%1", "[%1%2]", "%%", "x", "%", "%9", repl_table, repl_fn, 5 }

local function check(what, p, s, f)
  local a = pack(pcall(f, stock))
  local b = pack(pcall(f, ours))
  if not same(a, b) then
    error(string.format("%s differs for pattern %q subject %q: stock %s ours %s",
      what, p, s, show(a), show(b)), 0)
  end
end

local count = 0
for _ = 1, cases do
  local p, s = gen_pattern(), gen_subject()
  local init = ({ nil, 1, 2, -1, -3, 0, 20 })[rand(7)]
  check("find", p, s, function(lib) return lib.find(s, p, init) end)
  check("find plain", p, s, function(lib) return lib.find(s, p, init, true) end)
  check("match", p, s, function(lib) return lib.match(s, p, init) end)
  check("gmatch", p, s, function(lib) return gm_all(lib, s, p, init) end)
  local r = pick(repls)
  local max = ({ nil, 1, 2, 0 })[rand(4)]
  check("gsub", p, s, function(lib) return lib.gsub(s, p, r, max) end)
  count = count + 1
end
-- fixed cases the generator rarely reaches
local fixed = {
  { "THE (quick) fox", "%f[%a]%a+" }, { "hello world from Lua", "(%w+)%s*()" },
  { "x = 1, y = 22", "(%w+)%s*=%s*(%w+)" }, { "((a)(b))", "%b()" }, { "aaab", "a-b" },
  { "aaa", "a*$" }, { "aaa", "a-$" }, { "^a^a", "^a" }, { "abcabc", "(abc)%1" },
  { "", "" }, { "", "^$" }, { "abc", "" }, { "a.b", "." }, { "a+b", "a+b" },
}
for _, c in ipairs(fixed) do
  local s, p = c[1], c[2]
  check("find", p, s, function(lib) return lib.find(s, p) end)
  check("match", p, s, function(lib) return lib.match(s, p) end)
  check("gmatch", p, s, function(lib) return gm_all(lib, s, p) end)
  check("gsub", p, s, function(lib) return lib.gsub(s, p, "<%0>") end)
end
-- deep recursion: both refuse with the same message
local deep = ("(a?)"):rep(40)
check("deep", deep, "aaaa", function(lib) return lib.match(("a"):rep(300), ("a?"):rep(300)) end)
check("captures", "many", "", function(lib) return lib.match(("a"):rep(40), ("(a)"):rep(33)) end)
return count
