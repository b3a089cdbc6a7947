-- expect: ok
assert(string.dump == nil, "string.dump is reachable")
assert(("").dump == nil, "string.dump is reachable through the string metatable")
return "ok"
