-- The metatable of host error tables (code, message): tostring gives "code: message".
-- Embedded at build time; see LuaState.swift.
local rawget, tostring, type = rawget, tostring, type
return {
  __tostring = function(e)
    local code, message = rawget(e, "code"), rawget(e, "message")
    if type(message) ~= "string" then message = tostring(message) end
    if code ~= nil then return tostring(code) .. ": " .. message end
    return message
  end,
  __name = "error",
}
