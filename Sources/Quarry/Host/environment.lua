-- [quarry environment]: returns take, restore, keep for a host with per-run isolation
-- (see EnvironmentKeeper in QuarryHost.swift). Embedded at build time.
local clear = ...
local next, type, rawget, rawset, getmetatable, setmetatable, G =
  next, type, rawget, rawset, getmetatable, setmetatable, _G
local globals, contents, metas = {}, {}, {}
local function copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end
local function remember(v)
  if type(v) == "table" and contents[v] == nil then
    local saved = copy(v)
    contents[v] = saved
    local m = getmetatable(v)
    metas[v] = m or false
    remember(m)   -- a module's own metatable is restored like the module
    -- Nested tables too (an app module's `cfg.db`): everything reachable through
    -- tables from the globals is put back. Upvalues of functions cannot be.
    for _, x in next, saved do remember(x) end
  end
end
local function take()
  globals, contents, metas = copy(G), {}, { [G] = getmetatable(G) or false }
  for _, v in next, globals do remember(v) end
end
local function keep(name)
  local v = rawget(G, name)
  globals[name] = v
  if type(v) == "table" then contents[v] = nil; remember(v) end
end
local function unhook(t)
  local m = metas[t]
  if (getmetatable(t) or false) ~= m then
    clear(t)
    if type(m) == "table" then setmetatable(t, m) end
  end
end
local function reset(t, saved)
  -- Clearing existing fields during a traversal is allowed and allocates nothing.
  for k in next, t do
    if rawget(saved, k) == nil then rawset(t, k, nil) end
  end
  for k, v in next, saved do
    if rawget(t, k) ~= v then rawset(t, k, v) end
  end
end
local function restore()
  unhook(G)
  reset(G, globals)
  for t, saved in next, contents do
    unhook(t)
    reset(t, saved)
  end
end
return take, restore, keep
