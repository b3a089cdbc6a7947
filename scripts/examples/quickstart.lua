-- Quickstart: shows the Lua version Quarry embeds and the limits every script runs under.
-- (Once the host's Bedrock bindings land, this script calls the built-in emulator.)
print("Quarry runs " .. _VERSION .. " in a sandbox with these limits:")
local names = {}
for k in pairs(sandbox.limits) do names[#names + 1] = k end
table.sort(names)
for _, k in ipairs(names) do print(string.format("  %-14s %s", k, tostring(sandbox.limits[k]))) end
