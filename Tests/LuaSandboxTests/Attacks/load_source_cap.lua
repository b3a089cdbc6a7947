-- expect: error load: source
-- limits: loadSourceBytes=1000
-- A huge chunk is refused before compiling (compiling cannot be interrupted).
local f, err = load("return " .. ("1+"):rep(1000) .. "1")
error(err or "loaded")
