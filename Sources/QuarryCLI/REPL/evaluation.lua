-- The REPL's evaluation step, run after pretty_printer.lua and the line EvaluationChunk.swift
-- writes (the locals src, name, try_return, colour, width). Embedded at build time.
local f, err
-- The environment is passed explicitly: the sandbox's load takes its 4th stack
-- slot for the environment even when it is not given.
-- The values pass through a function call so the input's own calls are not tail calls:
-- an error a host function raises names the input's line (repl:1), not this chunk's.
if try_return then f = load("return (function(...) return ... end)(" .. src .. "\n)", name, "t", _ENV) end
local expression = f ~= nil
if not f then
  f, err = load(src, name, "t", _ENV)
  if not f then return "syntax", err end
end
return "ok", expression, render_all(colour, width, f())
