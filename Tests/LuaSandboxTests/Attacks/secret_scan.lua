-- expect: ok
-- Walk everything reachable (globals, metatables, handles, tostring of every value) and
-- look for the host's secret. The host planted a canary in a global to prove the scan works.
local secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
local seen, found, canary = {}, {}, false
local function check(s, where)
  if type(s) ~= "string" then return end
  if s:find(secret, 1, true) then found[#found + 1] = where end
  if s:find("CANARY-1234", 1, true) then canary = true end
end
local function visit(v, where, depth)
  if depth > 12 or seen[v] then return end
  local t = type(v)
  if t == "string" then check(v, where) return end
  if t ~= "table" and t ~= "userdata" and t ~= "function" then return end
  seen[v] = true
  local ok, s = pcall(tostring, v)
  if ok then check(s, where .. "#tostring") end
  local mt = getmetatable(v)
  if mt ~= nil then visit(mt, where .. "#mt", depth + 1) end
  if t == "table" then
    for k, x in pairs(v) do visit(k, where .. ".key", depth + 1) visit(x, where .. "." .. tostring(k), depth + 1) end
  elseif t == "userdata" then
    for _, name in ipairs({"region", "secret", "credentials", "key", "describe", "__index"}) do
      local ok2, x = pcall(function() return v[name] end)
      if ok2 then visit(x, where .. "." .. name, depth + 1) end
    end
  elseif t == "function" then
    local ok3, r = pcall(v)
    if ok3 then visit(r, where .. "()", depth + 1) end
  end
end
visit(_G, "_G", 0)
visit("", "string", 0)
assert(canary, "the scan did not reach the canary")
assert(#found == 0, "secret found at " .. table.concat(found, ", "))
return "ok"
