-- The REPL's value renderer: defines the local render_all(colour, width, ...). The first part of
-- every chunk the REPL evaluates (=repl). Embedded at build time; see REPLPrettyPrinter.swift.
local type, tostring, pairs, select, pcall, next = type, tostring, pairs, select, pcall, next
local mtype = math.type
local S = ("")
local fmt, sub, gsub, match, byte, rep = S.format, S.sub, S.gsub, S.match, S.byte, S.rep
local tsort, tconcat = table.sort, table.concat
local ulen = utf8 and utf8.len
local MAX_DEPTH, MAX_ITEMS, NESTED_STRING, TOP_STRING = 8, 200, 200, 4000
local keywords = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then true until while"):gmatch("%a+") do keywords[w] = true end
local escapes = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local palette = { str = "\27[32m", num = "\27[36m", kw = "\27[33m", fn = "\27[35m", dim = "\27[2m", bad = "\27[31m" }
local colour = false
local function paint(kind, text)
  if colour then return palette[kind] .. text .. "\27[0m" end
  return text
end
local function visible(text)
  local plain = gsub(text, "\27%[[%d;]*m", "")
  return (ulen and ulen(plain)) or #plain
end
-- Control characters a terminal would obey (C0 but newline and tab, DEL, C1 as
-- UTF-8, bidirectional overrides) shown as escapes instead: for text printed
-- outside quotes (error tables' tostring, stream text).
local function safe(text)
  text = gsub(text, "[\0-\8\11-\31\127]", function(c) return fmt("\\x%02x", byte(c)) end)
  return (gsub(gsub(gsub(text,
    "\194([\128-\159])", function(c) return fmt("\\u{%x}", byte(c)) end),
    "\226\128([\170-\174])", function(c) return fmt("\\u{20%x}", byte(c) - 128) end),
    "\226\129([\166-\169])", function(c) return fmt("\\u{20%x}", byte(c) - 64) end))
end
-- Escapes like string.format("%q"): a control byte as \ddd in decimal (three digits
-- when a digit follows, so the literal reads back the same), with \n, \r, \t, \\ and
-- \" kept readable. The result is a valid Lua string body.
local function decimal(c, d)
  return fmt(d ~= "" and "\\%03d" or "\\%d", byte(c)) .. d
end
local function escape_controls(s)
  return (gsub(s, '([%c\\"])(%d?)', function(c, d)
    local e = escapes[c]
    if e then return e .. d end
    return decimal(c, d)
  end))
end
-- Valid UTF-8 runs stay readable (controls escaped, C1 and bidi overrides as \u{…});
-- each byte that is not part of valid UTF-8 shows as \ddd.
local function escape_string(s)
  if not ulen then
    return (gsub(s, '([%c\\"\128-\255])(%d?)', function(c, d) return (escapes[c] and escapes[c] .. d) or decimal(c, d) end))
  end
  local parts, i, n = {}, 1, #s
  while i <= n do
    local ok, bad = ulen(s, i)
    if ok then
      parts[#parts + 1] = safe(escape_controls(sub(s, i)))
      break
    end
    if bad > i then parts[#parts + 1] = safe(escape_controls(sub(s, i, bad - 1))) end
    local digit = match(sub(s, bad + 1, bad + 1), "^%d$") or ""
    parts[#parts + 1] = decimal(sub(s, bad, bad), digit)
    i = bad + 1 + #digit
  end
  return tconcat(parts)
end
local function quote(s, limit)
  local more = #s - limit
  if more > 0 then
    s = sub(s, 1, limit)
    s = gsub(s, "[\192-\255][\128-\191]*$", "")
    more = more + (limit - #s)
  end
  local text = paint("str", '"' .. escape_string(s) .. '"')
  if more > 0 then text = text .. paint("dim", "…(+" .. more .. " bytes)") end
  return text
end
local rank = { number = 1, string = 2, boolean = 3 }
local function before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    local ra, rb = rank[ta] or 4, rank[tb] or 4
    if ra ~= rb then return ra < rb end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end
local render
local function render_table(t, depth, ancestors, indent, width)
  if ancestors[t] then return paint("bad", "<cycle>") end
  -- A table with its own tostring (an error value, a host table such as `resilience`)
  -- shows that text, then its fields.
  local label = tostring(t)
  local named = sub(label, 1, 7) ~= "table: "
  local title = named and paint("fn", safe(label)) or nil
  if depth > MAX_DEPTH then return title or paint("dim", "{…}") end
  local keys, n, extra = {}, 0, 0
  local listed = pcall(function()
    for k in pairs(t) do
      if n < 5000 then n = n + 1; keys[n] = k else extra = extra + 1 end
    end
  end)
  if not listed then n, extra = 0, 0 end
  if n == 0 then return title or "{}" end
  local prefix = title and (title .. " ") or ""
  local present = {}
  for i = 1, n do local k = keys[i]; if mtype(k) == "integer" then present[k] = true end end
  local run = 0
  while present[run + 1] do run = run + 1 end
  local rest, r = {}, 0
  for i = 1, n do
    local k = keys[i]
    if not (mtype(k) == "integer" and k >= 1 and k <= run) then r = r + 1; rest[r] = k end
  end
  tsort(rest, before)
  ancestors[t] = true
  local parts, shown, total = {}, 0, run + r + extra
  local inner = indent .. "  "
  for i = 1, run do
    if shown >= MAX_ITEMS then break end
    shown = shown + 1
    parts[shown] = render(t[i], depth + 1, ancestors, inner, width, NESTED_STRING)
  end
  for i = 1, r do
    if shown >= MAX_ITEMS then break end
    local k = rest[i]
    local key
    if type(k) == "string" and match(k, "^[%a_][%w_]*$") and not keywords[k] then key = k
    else key = "[" .. render(k, depth + 1, ancestors, inner, width, NESTED_STRING) .. "]" end
    shown = shown + 1
    parts[shown] = key .. " = " .. render(t[k], depth + 1, ancestors, inner, width, NESTED_STRING)
  end
  ancestors[t] = nil
  if total > shown then parts[shown + 1] = paint("dim", "… (" .. (total - shown) .. " more)") end
  local one = prefix .. "{ " .. tconcat(parts, ", ") .. " }"
  if not one:find("\n", 1, true) and #indent + visible(one) <= width then return one end
  return prefix .. "{\n" .. inner .. tconcat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
end
render = function(v, depth, ancestors, indent, width, limit)
  local t = type(v)
  if t == "string" then return quote(v, limit) end
  if t == "number" then return paint("num", tostring(v)) end
  if t == "nil" or t == "boolean" then return paint("kw", tostring(v)) end
  if t == "table" then return render_table(v, depth, ancestors, indent, width) end
  if t == "function" then return paint("fn", "<function>") end
  local text = tostring(v)
  if t == "userdata" and text == "null" then return paint("kw", "null") end
  return paint("fn", safe(text))
end
local rawget, iowrite = rawget, write or (io and io.write)
-- A stream returned at the prompt is drained here: its text is written as it
-- arrives; what is shown after it is how it ended (stop reason, usage, and tool uses,
-- restarts or an incomplete end when there were any), the status line having said the
-- rest. The whole response becomes `_`.
local function drain(s)
  local nxt = rawget(s, "_next")
  local wrote = false
  while true do
    local ev = nxt()
    if ev == nil then break end
    if ev.type == "text" and type(ev.text) == "string" and iowrite then iowrite(safe(ev.text)); wrote = true end
  end
  if wrote and iowrite then iowrite("\n") end
  local result = rawget(s, "result")
  if type(result) ~= "table" then return result end
  local shown = { stop_reason = rawget(result, "stop_reason"), usage = rawget(result, "usage") }
  local tools = rawget(result, "tool_uses")
  if type(tools) == "table" and next(tools) ~= nil then shown.tool_uses = tools end
  local restarts = rawget(result, "restarts")
  if type(restarts) == "number" and restarts > 0 then shown.restarts = restarts end
  if rawget(result, "complete") == false then shown.complete = false end
  return shown, result
end
local function is_stream(v)
  return type(v) == "table" and sub(tostring(v), 1, 14) == "BedrockStream<" and type(rawget(v, "_next")) == "function"
end
local function render_all(use_colour, width, ...)
  local count = select("#", ...)
  if count == 0 then return nil end
  colour = use_colour
  local values, multi = { ... }, false
  local out = {}
  local first = values[1]
  for i = 1, count do
    if is_stream(values[i]) then
      local shown, full = drain(values[i])
      values[i] = shown
      if i == 1 then first = full end
    end
  end
  _ENV._ = first
  for i = 1, count do
    local ok, text = pcall(render, values[i], 1, {}, "", width, TOP_STRING)
    if not ok then text = paint("bad", "<cannot print: " .. safe(tostring(text)) .. ">") end
    out[i] = text
    if text:find("\n", 1, true) then multi = true end
  end
  return tconcat(out, multi and "\n" or "\t")
end
