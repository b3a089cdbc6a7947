-- expect: ok
local f, err = load("return " .. ("("):rep(100000) .. "1" .. (")"):rep(100000))
assert(f == nil and (err:find("overflow") or err:find("too many") or err:find("levels")), tostring(err))
return "ok"
