-- [quarry test]: the Lua half of `quarry test` (test, describe, before_each, after_each, skip,
-- expect matchers). Embedded at build time; see TestPrelude.swift and TestRunner.swift.
-- Everything the runner relies on is captured here, before a test file runs: a file
-- that replaces pcall, ipairs, table.insert or tostring cannot change how tests run or
-- what they report. The runner's two functions are this chunk's results, kept by the
-- host (scripts cannot reach them); no global names the runner's state.
local type, error, pcall, xpcall, setmetatable, getmetatable, tostring, ipairs, pairs, rawget, rawequal =
      type, error, pcall, xpcall, setmetatable, getmetatable, tostring, ipairs, pairs, rawget, rawequal
local insert, concat, sort = table.insert, table.concat, table.sort
local format, find, gsub = string.format, string.find, string.gsub
local mathtype, abs = math.type, math.abs
local tests = {}
local root = { name = nil, before = {}, after = {}, parent = nil }
local current = root
local running = false
local SKIP = {}

local function full_name(frame, name)
  local parts = { name }
  while frame and frame.name do
    insert(parts, 1, frame.name)
    frame = frame.parent
  end
  return concat(parts, " › ")
end

local function check_name(fname, name, fn)
  if type(name) ~= "string" or name == "" then
    error(fname .. ": the first argument must be a non-empty name (string), got " .. type(name), 3)
  end
  if type(fn) ~= "function" then
    error(fname .. "(\"" .. name .. "\", …): the second argument must be a function, got " .. type(fn), 3)
  end
end

function describe(name, fn)
  check_name("describe", name, fn)
  if running then error("describe: call it at the top level of a test file, not inside a test", 2) end
  local frame = { name = name, before = {}, after = {}, parent = current }
  current = frame
  local ok, err = pcall(fn)
  current = frame.parent
  if not ok then error(err, 0) end
end

function before_each(fn)
  if type(fn) ~= "function" then error("before_each: expected a function, got " .. type(fn), 2) end
  insert(current.before, fn)
end

function after_each(fn)
  if type(fn) ~= "function" then error("after_each: expected a function, got " .. type(fn), 2) end
  insert(current.after, fn)
end

function test(name, fn, options)
  check_name("test", name, fn)
  if running then error("test: define tests at the top level of a file or inside describe, not inside a test", 2) end
  if options ~= nil and type(options) ~= "table" then
    error("test(\"" .. name .. "\", fn, options): options must be a table such as {timeout = 5}", 2)
  end
  local timeout = options and options.timeout
  if timeout ~= nil and (type(timeout) ~= "number" or timeout <= 0) then
    error("test(\"" .. name .. "\"): timeout must be a positive number of seconds", 2)
  end
  insert(tests, { name = full_name(current, name), fn = fn, frame = current, timeout = timeout })
end

-- skip("name", fn [, reason]) registers a skipped test; skip("reason") inside a test stops
-- it as skipped. The reason is what reports show.
function skip(name, fn, reason)
  if running and fn == nil then
    error(setmetatable({ reason = tostring(name or "skipped") }, SKIP), 0)
  end
  check_name("skip", name, fn)
  if reason ~= nil and type(reason) ~= "string" then
    error("skip(\"" .. name .. "\", fn, reason): reason must be a string, got " .. type(reason), 2)
  end
  insert(tests, { name = full_name(current, name), fn = fn, frame = current,
                  skipped = reason or "marked skip(name, fn) in the file" })
end

-- Rendering values for messages ---------------------------------------------------

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function render(v, depth, seen)
  depth = depth or 0
  seen = seen or {}
  local t = type(v)
  if t == "string" then return format("%q", v) end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt ~= nil and mt.__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth >= 3 then return "{…}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = render(v[i], depth + 1, seen) end
  local keys = {}
  for k in pairs(v) do
    if not (mathtype(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local key = is_identifier(k) and k or ("[" .. render(k, depth + 1, seen) .. "]")
    parts[#parts + 1] = key .. " = " .. render(v[k], depth + 1, seen)
    if #parts > 20 then parts[#parts + 1] = "…"; break end
  end
  seen[v] = nil
  return "{" .. concat(parts, ", ") .. "}"
end

local function path_of(path, k)
  if is_identifier(k) then return path .. "." .. k end
  return path .. "[" .. render(k) .. "]"
end

-- Deep equality; fills `diffs` with one line per difference (at most 10).
local function deep_equal(a, b, path, diffs, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    if mathtype(a) and mathtype(b) and a == b then return true end
    diffs[#diffs + 1] = format("  at %s: expected %s, got %s", path == "" and "value" or path, render(b), render(a))
    return false
  end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  local equal = true
  for k, bv in pairs(b) do
    local av = rawget(a, k)
    if av == nil then
      diffs[#diffs + 1] = format("  missing %s (expected %s)", path_of(path, k), render(bv))
      equal = false
    elseif not deep_equal(av, bv, path_of(path, k), diffs, seen) then
      equal = false
    end
    if #diffs >= 10 then return false end
  end
  for k, av in pairs(a) do
    if rawget(b, k) == nil then
      diffs[#diffs + 1] = format("  unexpected %s = %s", path_of(path, k), render(av))
      equal = false
      if #diffs >= 10 then return false end
    end
  end
  return equal
end

local function contains(haystack, needle)
  if type(haystack) == "string" then
    return type(needle) == "string" and find(haystack, needle, 1, true) ~= nil
  end
  if type(haystack) == "table" then
    for _, v in pairs(haystack) do
      if deep_equal(v, needle, "", {}) then return true end
    end
  end
  return false
end

local function error_code(err)
  if type(err) == "table" then
    local code = rawget(err, "code")
    if type(code) == "string" then return code end
  end
  return nil
end

-- Whether a test's error is a failed expectation (not a runtime error).
local function is_expectation(err)
  return type(err) == "string" and find(err, "expectation failed: ", 1, true) ~= nil
end

local function error_text(err)
  if type(err) == "table" then
    local text
    local mt = getmetatable(err)
    if mt and mt.__tostring then text = tostring(err)
    elseif err.message then text = tostring(err.code or "error") .. ": " .. tostring(err.message)
    else text = render(err) end
    if type(err.where) == "string" and err.where ~= "" then text = err.where .. ": " .. text end
    return text
  end
  return tostring(err)
end

-- expect ----------------------------------------------------------------------

local function number_arg(matcher, v)
  if type(v) ~= "number" then
    error(matcher .. ": expected a number to compare with, got " .. type(v), 3)
  end
end

function expect(actual)
  local function make(negated)
    local m = {}
    local function check(pass, message, negated_message)
      if negated then pass = not pass; message = negated_message end
      if not pass then error("expectation failed: " .. message, 3) end
    end
    function m.to_equal(expected)
      local diffs = {}
      local equal = deep_equal(actual, expected, "", diffs)
      local message = "expected " .. render(expected) .. ", got " .. render(actual)
      if type(actual) == "table" and type(expected) == "table" then
        message = "tables differ:\n" .. concat(diffs, "\n")
      end
      check(equal, message, "expected a value different from " .. render(expected))
    end
    function m.to_be(expected)
      check(rawequal(actual, expected), "expected " .. render(expected) .. " (the same value), got " .. render(actual),
        "expected anything but " .. render(expected))
    end
    function m.to_be_truthy()
      check(actual ~= nil and actual ~= false, "expected a truthy value, got " .. render(actual),
        "expected a falsy value, got " .. render(actual))
    end
    function m.to_be_falsy()
      check(actual == nil or actual == false, "expected a falsy value, got " .. render(actual),
        "expected a truthy value, got " .. render(actual))
    end
    function m.to_be_nil()
      check(actual == nil, "expected nil, got " .. render(actual), "expected a value, got nil")
    end
    function m.to_be_a(kind)
      check(type(actual) == kind, "expected a " .. tostring(kind) .. ", got a " .. type(actual) .. " (" .. render(actual) .. ")",
        "expected anything but a " .. tostring(kind))
    end
    function m.to_contain(item)
      if type(actual) ~= "string" and type(actual) ~= "table" then
        error("to_contain: expected a string or table to search, got " .. type(actual), 2)
      end
      check(contains(actual, item), render(actual) .. " does not contain " .. render(item),
        render(actual) .. " contains " .. render(item))
    end
    function m.to_match(pattern)
      if type(actual) ~= "string" then error("to_match: expected a string, got " .. type(actual), 2) end
      if type(pattern) ~= "string" then error("to_match: the pattern must be a string", 2) end
      check(find(actual, pattern) ~= nil, render(actual) .. " does not match the pattern " .. render(pattern),
        render(actual) .. " matches the pattern " .. render(pattern))
    end
    function m.to_have_length(n)
      local len = (type(actual) == "string" or type(actual) == "table") and #actual or nil
      check(len == n, "expected length " .. tostring(n) .. ", got " .. tostring(len), "expected a length other than " .. tostring(n))
    end
    local function compare(name, op, words)
      m[name] = function(limit)
        number_arg(name, actual)
        number_arg(name, limit)
        check(op(actual, limit), "expected " .. render(actual) .. " " .. words .. " " .. render(limit),
          "expected " .. render(actual) .. " not " .. words .. " " .. render(limit))
      end
    end
    compare("to_be_greater_than", function(a, b) return a > b end, "to be greater than")
    compare("to_be_less_than", function(a, b) return a < b end, "to be less than")
    compare("to_be_at_least", function(a, b) return a >= b end, "to be at least")
    compare("to_be_at_most", function(a, b) return a <= b end, "to be at most")
    function m.to_be_close_to(expected, tolerance)
      number_arg("to_be_close_to", actual)
      number_arg("to_be_close_to", expected)
      tolerance = tolerance or 1e-9
      check(abs(actual - expected) <= tolerance,
        "expected " .. render(actual) .. " to be within " .. tolerance .. " of " .. render(expected),
        "expected " .. render(actual) .. " not to be within " .. tolerance .. " of " .. render(expected))
    end
    local function call_it(name)
      if type(actual) ~= "function" then
        error(name .. ": expect(…) needs a function to call, got " .. type(actual), 3)
      end
      return pcall(actual)
    end
    function m.to_fail()
      local ok, err = call_it("to_fail")
      check(not ok, "expected the function to fail, but it returned normally",
        "expected the function not to fail, but it raised " .. error_text(err))
      return err
    end
    function m.to_fail_with(code, fragment)
      local ok, err = call_it("to_fail_with")
      local matched = not ok and (error_code(err) == code
        or (type(err) == "string" and find(err, tostring(code), 1, true) ~= nil))
      if matched and fragment ~= nil then
        matched = find(error_text(err), tostring(fragment), 1, true) ~= nil
      end
      local wanted = tostring(code) .. (fragment ~= nil and (" mentioning " .. render(fragment)) or "")
      local got = ok and "it returned normally" or ("it raised " .. error_text(err))
      check(matched, "expected the function to fail with " .. wanted .. ", but " .. got,
        "expected the function not to fail with " .. wanted)
      return err
    end
    return m
  end
  local matchers = make(false)
  matchers.never = make(true)
  return matchers
end

-- The runner's side -----------------------------------------------------------

local control = {}

function control.list()
  local out = {}
  for i, t in ipairs(tests) do
    out[i] = { name = t.name, skipped = t.skipped ~= nil, timeout = t.timeout }
  end
  return out
end

-- Where a table error was raised: Lua adds `file:line:` to string errors only, so an
-- `error({code = …, message = …})` (or a host function's error table) would fail a test
-- with no line. The message handler runs at the raise, with the stack intact: the first
-- Lua frame above it (past this handler, `where`, pcall, error and the raising C function)
-- is the line that raised it.
local raised_at
local function where(level)
  local _, w = pcall(error, "", level)
  return w
end
local function note_raise_site(err)
  if type(err) == "table" and getmetatable(err) ~= SKIP and rawget(err, "where") == nil then
    for level = 5, 12 do
      local w = where(level)
      if type(w) == "string" and w ~= "" then
        raised_at = gsub(w, ":%s*$", "")
        break
      end
    end
  end
  return err
end
local function protected(fn)
  raised_at = nil
  return xpcall(fn, note_raise_site)
end

function control.run(i)
  local t = tests[i]
  if t == nil then return { status = "failed", message = "no test number " .. tostring(i) } end
  if t.skipped then return { status = "skipped", reason = t.skipped } end
  local chain, f = {}, t.frame
  while f do insert(chain, 1, f); f = f.parent end
  running = true
  local ok, err, site = true, nil, nil
  for _, frame in ipairs(chain) do
    for _, hook in ipairs(frame.before) do
      ok, err = protected(hook)
      if not ok then site = raised_at; break end
    end
    if not ok then break end
  end
  if ok then
    ok, err = protected(t.fn)
    site = raised_at
  end
  for j = #chain, 1, -1 do
    for _, hook in ipairs(chain[j].after) do
      local hook_ok, hook_err = protected(hook)
      if ok and not hook_ok then ok, err, site = false, hook_err, raised_at end
    end
  end
  running = false
  if ok then return { status = "passed" } end
  if getmetatable(err) == SKIP then return { status = "skipped", reason = err.reason } end
  local message = error_text(err)
  if site and type(err) == "table" and rawget(err, "where") == nil then message = site .. ": " .. message end
  return { status = "failed", message = message, code = error_code(err), expectation = is_expectation(err) }
end

return control.list, control.run
