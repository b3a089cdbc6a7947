-- expect: ok
assert(debug == nil, "debug is reachable")
assert(collectgarbage == nil or not pcall(collectgarbage, "collect"), "collectgarbage collect allowed")
assert(not pcall(collectgarbage, "stop"), "collectgarbage stop allowed")
assert(not pcall(collectgarbage), "collectgarbage default allowed")
assert(type(collectgarbage("count")) == "number")
return "ok"
