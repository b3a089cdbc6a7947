-- expect: error (error object is a table value)
-- limits: instructions=2000000
-- The host describes the error value under the hooks: a looping __tostring trips, the
-- host falls back to a fixed description and stays healthy.
error(setmetatable({}, {__tostring = function() while true do end end}))
