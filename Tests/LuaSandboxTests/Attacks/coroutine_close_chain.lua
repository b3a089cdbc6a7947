-- expect: error coroutine.close: nesting
-- A coroutine whose pending __close closes the next one: Debian's 5.4.4 crashes on
-- long chains, so the sandbox bounds the nesting.
local function make(n)
  local co = coroutine.create(function()
    local x <close> = setmetatable({}, {__close = function()
      if n > 0 then
        local ok, err = coroutine.close(make(n - 1))
        if not ok then error(err, 0) end
      end
    end})
    coroutine.yield()
  end)
  coroutine.resume(co)
  return co
end
local ok, err = coroutine.close(make(300))
error(err or "closed", 0)
