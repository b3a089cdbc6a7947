-- expect: ok
-- Reading the environment, files and processes: none of the doors exist.
assert(io == nil, "io is reachable")
assert(package == nil, "package is reachable")
assert(require == nil and dofile == nil and loadfile == nil, "file loaders are reachable")
assert(os.getenv == nil and os.execute == nil and os.remove == nil and os.rename == nil
       and os.tmpname == nil and os.exit == nil and os.setlocale == nil, "unsafe os functions")
local names = {}
for k in pairs(os) do names[#names + 1] = k end
table.sort(names)
assert(table.concat(names, ",") == "clock,date,time", "os has " .. table.concat(names, ","))
assert(type(os.time()) == "number" and type(os.clock()) == "number")
return "ok"
