-- [quarry assign]: returns function(v, path) that sets the global a.b.c = v, rebuilding each
-- read-only host table on the way as a copy. Embedded at build time; see QuarryHost.swift.
local pairs, type, error, concat, rawget, rawset, G = pairs, type, error, table.concat, rawget, rawset, _G
return function(v, path)
  local function copy(t)
    local c = {}
    if t ~= nil then
      if type(t) ~= "table" then error("'" .. concat(path, ".") .. "': a part is not a table", 0) end
      for k, x in pairs(t) do c[k] = x end
    end
    return c
  end
  local chain = { copy(rawget(G, path[1])) }
  for i = 2, #path - 1 do chain[i] = copy(chain[i - 1][path[i]]) end
  chain[#path - 1][path[#path]] = v
  for i = #path - 1, 2, -1 do chain[i - 1][path[i]] = chain[i] end
  rawset(G, path[1], chain[1])
end
