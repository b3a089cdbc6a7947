-- expect: error (error object is a table value)
error(setmetatable({}, {__tostring = function() return {} end, __index = function() error("no") end}))
