-- [quarry resilience]: the `resilience` module (retry, timeout, circuit breaker, fallback, hedge,
-- rate limit, bulkhead, pipeline). Embedded at build time; see ResilienceModule.swift.
local sleep, now, parallel, bedrock = sleep, now, parallel, bedrock
local pcall, error, type, tostring, setmetatable, select, ipairs, pairs = pcall, error, type, tostring, setmetatable, select, ipairs, pairs
local unpack, pack = table.unpack, table.pack
local random = math.random

local R = {}

local ErrorMT = {
  __tostring = function(e) return tostring(e.code) .. ": " .. tostring(e.message) end,
  __name = "error",
}
local function raise(code, message, fields)
  local e = fields or {}
  e.code, e.message, e.retryable = code, message, e.retryable or false
  error(setmetatable(e, ErrorMT), 0)
end

local function check_options(name, options, allowed)
  if options == nil then return {} end
  if type(options) ~= "table" then error("resilience." .. name .. ": options must be a table", 3) end
  for k in pairs(options) do
    if not allowed[k] then
      local names = {}
      for a in pairs(allowed) do names[#names + 1] = a end
      table.sort(names)
      error("resilience." .. name .. ": unknown option '" .. tostring(k) .. "'; expected " .. table.concat(names, ", "), 3)
    end
  end
  return options
end

local function number_option(name, options, key, default, minimum)
  local v = options[key]
  if v == nil then return default end
  -- finite and at most 1e9: NaN, ±inf and 1e300 never reach a clock or a counter
  if type(v) ~= "number" or v ~= v or v < (minimum or 0) or v > 1e9 then
    error("resilience." .. name .. ": '" .. key .. "' must be a number ≥ " .. tostring(minimum or 0)
          .. " and ≤ 1e9 (finite)", 4)
  end
  return v
end

-- A policy: callable, with wrap and stats.
local function policy(kind, around, stats, fn_optional)
  local p = { kind = kind }
  function p.wrap(fn)
    if type(fn) ~= "function" and not (fn_optional and fn == nil) then error("resilience." .. kind .. ": expected a function to guard, got " .. type(fn), 2) end
    return function(...) return around(fn, ...) end
  end
  function p.stats()
    local copy = {}
    for k, v in pairs(stats) do copy[k] = v end
    return copy
  end
  return setmetatable(p, {
    __call = function(self, fn, ...)
      if type(fn) ~= "function" and not (fn_optional and fn == nil) then error("resilience." .. kind .. ": expected a function to run, got " .. type(fn), 2) end
      return around(fn, ...)
    end,
    __tostring = function() return "resilience." .. kind end,
  })
end

local function code_of(err) return type(err) == "table" and err.code or nil end

-- Errors worth another try when the caller gives no rule.
local transient = {
  ThrottlingException = true, ServiceUnavailableException = true, InternalServerException = true,
  ModelNotReadyException = true, ModelTimeoutException = true, ModelStreamErrorException = true,
  Timeout = true, ConnectionError = true, IncompleteStream = true,
}
R.transient_codes = transient

local function matcher(name, rule)
  if rule == nil then
    return function(err)
      if type(err) ~= "table" then return false end
      return err.retryable == true or transient[err.code] == true
    end
  end
  if type(rule) == "function" then return rule end
  if type(rule) == "table" then
    local set = {}
    for _, c in ipairs(rule) do set[c] = true end
    return function(err) return set[code_of(err)] == true end
  end
  error("resilience." .. name .. ": 'retry_on' must be a list of error codes or a function(err) → boolean", 4)
end

-- retry ---------------------------------------------------------------------------
-- resilience.retry{attempts=3, base=0.1, max=5, multiplier=2, jitter="full"|"none",
--                  retry_on={codes…}|function(err), on_retry=function(err, attempt, wait)}
function R.retry(options)
  options = check_options("retry", options, { attempts = true, base = true, max = true, multiplier = true,
    jitter = true, retry_on = true, on_retry = true })
  local attempts = number_option("retry", options, "attempts", 3, 1)
  local base = number_option("retry", options, "base", 0.1)
  local cap = number_option("retry", options, "max", 5)
  local multiplier = number_option("retry", options, "multiplier", 2, 1)
  local jitter = options.jitter or "full"
  if jitter ~= "full" and jitter ~= "none" then error("resilience.retry: 'jitter' must be \"full\" or \"none\"", 2) end
  local should = matcher("retry", options.retry_on)
  local on_retry = options.on_retry
  local stats = { calls = 0, attempts = 0, retries = 0, failures = 0, successes = 0, waited = 0 }
  return policy("retry", function(fn, ...)
    stats.calls = stats.calls + 1
    local attempt = 0
    while true do
      attempt = attempt + 1
      stats.attempts = stats.attempts + 1
      local result = pack(pcall(fn, ...))
      if result[1] then
        stats.successes = stats.successes + 1
        return unpack(result, 2, result.n)
      end
      local err = result[2]
      if attempt >= attempts or not should(err) then
        stats.failures = stats.failures + 1
        error(err, 0)
      end
      local wait = math.min(cap, base * multiplier ^ (attempt - 1))
      if jitter == "full" then wait = wait * random() end
      stats.retries = stats.retries + 1
      stats.waited = stats.waited + wait
      if on_retry then on_retry(err, attempt, wait) end
      if wait > 0 then sleep(wait) end
    end
  end, stats)
end

-- timeout ------------------------------------------------------------------------
-- resilience.timeout(seconds) or {seconds=}: fn(..., budget) gets budget.timeout (seconds
-- left, for a Bedrock call's timeout=) and budget.remaining(); a result after the
-- deadline is discarded and Timeout raised.
function R.timeout(options)
  if type(options) == "number" then options = { seconds = options } end
  options = check_options("timeout", options, { seconds = true })
  local seconds = number_option("timeout", options, "seconds", nil, 0)
  if seconds == nil or seconds <= 0 then error("resilience.timeout: needs seconds > 0", 2) end
  local stats = { calls = 0, timeouts = 0 }
  return policy("timeout", function(fn, ...)
    stats.calls = stats.calls + 1
    local started = now()
    local budget = { timeout = seconds, deadline = started + seconds }
    function budget.remaining() return math.max(0, budget.deadline - now()) end
    local args = pack(...)
    args.n = args.n + 1
    args[args.n] = budget
    -- The work races a timer: when the timer wins, the work is cancelled (its pending
    -- Bedrock call or sleep too), so the caller waits no longer than `seconds`.
    local result
    local _, winner = race(function()
      result = pack(pcall(fn, unpack(args, 1, args.n)))
    end, function()
      sleep(seconds)
    end)
    local elapsed = now() - started
    if winner == 2 or elapsed > seconds then
      stats.timeouts = stats.timeouts + 1
      raise("Timeout", string.format("resilience.timeout: gave up after %.3f s (limit %.3f s)", elapsed, seconds),
        { retryable = true, elapsed = elapsed, cause = result and not result[1] and result[2] or nil })
    end
    if not result[1] then
      local err = result[2]
      if code_of(err) == "Timeout" then stats.timeouts = stats.timeouts + 1 end
      error(err, 0)
    end
    return unpack(result, 2, result.n)
  end, stats)
end

-- circuit breaker ------------------------------------------------------------------
-- resilience.circuit_breaker{failure_rate=0.5, window=10, min_calls=window, open_for=30,
--                            half_open_calls=1, counts=function(err) → boolean}
function R.circuit_breaker(options)
  options = check_options("circuit_breaker", options, { failure_rate = true, window = true, min_calls = true,
    open_for = true, half_open_calls = true, counts = true, on_state = true })
  local rate = number_option("circuit_breaker", options, "failure_rate", 0.5)
  if rate > 1 then error("resilience.circuit_breaker: 'failure_rate' is a fraction between 0 and 1", 2) end
  local window = math.floor(number_option("circuit_breaker", options, "window", 10, 1))
  local min_calls = math.floor(number_option("circuit_breaker", options, "min_calls", window, 1))
  local open_for = number_option("circuit_breaker", options, "open_for", 30)
  local half_open_calls = math.floor(number_option("circuit_breaker", options, "half_open_calls", 1, 1))
  local counts = options.counts or function(err) return code_of(err) ~= "ValidationError" end
  local on_state = options.on_state
  local state, opened_at, outcomes, trial_successes, trials_running = "closed", nil, {}, 0, 0
  local stats = { calls = 0, rejected = 0, failures = 0, successes = 0, opened = 0, closed = 0 }
  local function set(new)
    if new == state then return end
    local old = state
    state = new
    if new == "open" then opened_at = now(); stats.opened = stats.opened + 1 end
    if new == "closed" then outcomes = {}; stats.closed = stats.closed + 1 end
    if new == "half_open" then trial_successes, trials_running = 0, 0 end
    if on_state then on_state(old, new) end
  end
  local function record(failed)
    outcomes[#outcomes + 1] = failed
    if #outcomes > window then table.remove(outcomes, 1) end
    if #outcomes < min_calls then return end
    local failures = 0
    for _, f in ipairs(outcomes) do if f then failures = failures + 1 end end
    if failures / #outcomes >= rate then set("open") end
  end
  local p = policy("circuit_breaker", function(fn, ...)
    stats.calls = stats.calls + 1
    if state == "open" then
      if now() - opened_at >= open_for then set("half_open") end
    end
    if state == "open" or (state == "half_open" and trials_running >= half_open_calls) then
      stats.rejected = stats.rejected + 1
      local left = state == "open" and math.max(0, open_for - (now() - opened_at)) or 0
      raise("CircuitOpen", string.format("resilience.circuit_breaker: the circuit is %s; calls are refused for %.3f s more",
        state == "open" and "open" or "half-open (trial running)", left), { retry_after = left })
    end
    local trial = state == "half_open"
    if trial then trials_running = trials_running + 1 end
    local result = pack(pcall(fn, ...))
    if trial then trials_running = trials_running - 1 end
    local failed = not result[1] and counts(result[2])
    if failed then stats.failures = stats.failures + 1 else stats.successes = stats.successes + 1 end
    if trial then
      if failed then
        set("open")
      else
        trial_successes = trial_successes + 1
        if trial_successes >= half_open_calls then set("closed") end
      end
    elseif state == "closed" then
      record(failed)
    end
    if not result[1] then error(result[2], 0) end
    return unpack(result, 2, result.n)
  end, stats)
  function p.state()
    if state == "open" and now() - opened_at >= open_for then return "half_open" end
    return state
  end
  function p.reset() set("closed") end
  return p
end

-- fallback ----------------------------------------------------------------------------
-- resilience.fallback{regions={"us-east-1", "us-west-2"}} → f(fn) calls fn(client, …) per
-- region; {models={…}} → fn(model, …); {functions={…}} → each fn in turn. Preferred first.
function R.fallback(options)
  options = check_options("fallback", options, { regions = true, models = true, functions = true,
    should_fallback = true, on_fallback = true })
  local choices, kind = nil, nil
  for _, k in ipairs({ "regions", "models", "functions" }) do
    if options[k] ~= nil then
      if choices ~= nil then error("resilience.fallback: give one of regions, models or functions", 2) end
      if type(options[k]) ~= "table" or #options[k] == 0 then
        error("resilience.fallback: '" .. k .. "' must be a non-empty list", 2)
      end
      choices, kind = options[k], k
    end
  end
  if choices == nil then error("resilience.fallback: needs regions={…}, models={…} or functions={…}", 2) end
  local should = options.should_fallback or function(err) return code_of(err) ~= "ValidationError" end
  local on_fallback = options.on_fallback
  local clients = {}
  local stats = { calls = 0, fallbacks = 0, exhausted = 0, served_by = {} }
  return policy("fallback", function(fn, ...)
    stats.calls = stats.calls + 1
    local errors = {}
    for i, choice in ipairs(choices) do
      local arg = choice
      if kind == "regions" then
        clients[choice] = clients[choice] or bedrock.client{ region = choice }
        arg = clients[choice]
      end
      local result
      if kind == "functions" then result = pack(pcall(choice, ...)) else result = pack(pcall(fn, arg, ...)) end
      if result[1] then
        local key = tostring(choice)
        if kind == "functions" then key = tostring(i) end
        stats.served_by[key] = (stats.served_by[key] or 0) + 1
        return unpack(result, 2, result.n)
      end
      local err = result[2]
      errors[#errors + 1] = err
      if not should(err) then error(err, 0) end
      if i < #choices then
        stats.fallbacks = stats.fallbacks + 1
        if on_fallback then on_fallback(err, choice, choices[i + 1]) end
      end
    end
    stats.exhausted = stats.exhausted + 1
    local parts = {}
    for i, e in ipairs(errors) do parts[i] = tostring(choices[i]) .. ": " .. tostring(code_of(e) or e) end
    raise("AllFallbacksFailed", "resilience.fallback: every " .. kind:sub(1, -2) .. " failed (" .. table.concat(parts, "; ") .. ")",
      { errors = errors, last = errors[#errors] })
  end, stats, kind == "functions")
end

-- hedge --------------------------------------------------------------------------------
-- resilience.hedge{delay=0.2}: starts fn; if it has not finished after delay, starts a
-- backup; returns the first success (by finish time).
function R.hedge(options)
  options = check_options("hedge", options, { delay = true })
  local delay = number_option("hedge", options, "delay", 0.2)
  local stats = { calls = 0, hedged = 0, backup_won = 0 }
  return policy("hedge", function(fn, ...)
    stats.calls = stats.calls + 1
    local args = pack(...)
    local results = {}
    local function attempt(i)
      local r = pack(pcall(fn, unpack(args, 1, args.n)))
      results[i] = r
      if not r[1] then
        -- A failure does not end the race while the other attempt may still succeed.
        local other = 3 - i
        while results[other] == nil do sleep(0.005) end
      end
    end
    -- The first success wins; the other attempt is cancelled (its pending call too).
    local _, winner = race(function() attempt(1) end, function()
      sleep(delay)
      stats.hedged = stats.hedged + 1
      attempt(2)
    end)
    local best = results[winner] and results[winner][1] and winner or nil
    if best == nil then
      for i = 1, 2 do if results[i] and results[i][1] then best = i end end
    end
    if best == nil then error((results[2] or results[1])[2], 0) end
    if best == 2 then stats.backup_won = stats.backup_won + 1 end
    local r = results[best]
    return unpack(r, 2, r.n)
  end, stats)
end

-- rate limit ---------------------------------------------------------------------------
-- resilience.rate_limit{rate=10, per=1, burst=rate, wait=true}: a token bucket; with
-- wait=false an empty bucket raises RateLimited instead of waiting.
function R.rate_limit(options)
  options = check_options("rate_limit", options, { rate = true, per = true, burst = true, wait = true })
  local rate = number_option("rate_limit", options, "rate", nil, 0)
  if rate == nil or rate <= 0 then error("resilience.rate_limit: needs rate > 0 (calls per 'per' seconds)", 2) end
  local per = number_option("rate_limit", options, "per", 1)
  if per <= 0 then error("resilience.rate_limit: 'per' must be > 0", 2) end
  local burst = number_option("rate_limit", options, "burst", rate, 1)
  local wait = options.wait ~= false
  local tokens, last = burst, now()
  local per_token = per / rate
  local stats = { calls = 0, waited = 0, rejected = 0 }
  return policy("rate_limit", function(fn, ...)
    stats.calls = stats.calls + 1
    while true do
      local t = now()
      tokens = math.min(burst, tokens + (t - last) / per_token)
      last = t
      if tokens >= 1 then tokens = tokens - 1; break end
      if not wait then
        stats.rejected = stats.rejected + 1
        raise("RateLimited", "resilience.rate_limit: more than " .. rate .. " calls per " .. per .. " s")
      end
      local need = (1 - tokens) * per_token
      stats.waited = stats.waited + need
      sleep(need)
    end
    return fn(...)
  end, stats)
end

-- bulkhead -------------------------------------------------------------------------------
-- resilience.bulkhead{max_concurrent=4, max_queue=16, queue_timeout=nil}
function R.bulkhead(options)
  options = check_options("bulkhead", options, { max_concurrent = true, max_queue = true, queue_timeout = true })
  local limit = math.floor(number_option("bulkhead", options, "max_concurrent", 4, 1))
  local max_queue = math.floor(number_option("bulkhead", options, "max_queue", 1e9))
  local queue_timeout = number_option("bulkhead", options, "queue_timeout", nil)
  local running, queued = 0, 0
  local stats = { calls = 0, rejected = 0, peak = 0, queued = 0 }
  local p = policy("bulkhead", function(fn, ...)
    stats.calls = stats.calls + 1
    if running >= limit then
      if queued >= max_queue then
        stats.rejected = stats.rejected + 1
        raise("BulkheadFull", "resilience.bulkhead: " .. running .. " calls running and " .. queued .. " waiting")
      end
      queued = queued + 1
      stats.queued = stats.queued + 1
      -- Polls for a free slot, 5 ms at first and at most 50 ms apart: each poll is a
      -- host call (sleep, and now with a queue_timeout), counted against the run's
      -- host-call limit, so a long wait must not poll at a fixed short interval.
      local started = queue_timeout and now()
      local pause = 0.005
      while running >= limit do
        if queue_timeout and now() - started >= queue_timeout then
          queued = queued - 1
          stats.rejected = stats.rejected + 1
          raise("BulkheadFull", "resilience.bulkhead: waited " .. queue_timeout .. " s for a free slot")
        end
        sleep(pause)
        pause = math.min(pause * 2, 0.05)
      end
      queued = queued - 1
    end
    running = running + 1
    if running > stats.peak then stats.peak = running end
    local result = pack(pcall(fn, ...))
    running = running - 1
    if not result[1] then error(result[2], 0) end
    return unpack(result, 2, result.n)
  end, stats)
  function p.running() return running end
  return p
end

-- pipeline -------------------------------------------------------------------------------
-- resilience.pipeline{timeout, retry, breaker}: the first policy is outermost.
function R.pipeline(policies)
  if type(policies) ~= "table" or #policies == 0 then
    error("resilience.pipeline: expected a list of policies, outermost first", 2)
  end
  for i, p in ipairs(policies) do
    if type(p) ~= "table" or type(p.wrap) ~= "function" then
      error("resilience.pipeline: item " .. i .. " is not a resilience policy", 2)
    end
  end
  local stats = {}
  local p = policy("pipeline", function(fn, ...)
    local guarded = fn
    for i = #policies, 1, -1 do guarded = policies[i].wrap(guarded) end
    return guarded(...)
  end, stats)
  function p.stats()
    local out = {}
    for i, q in ipairs(policies) do out[i] = { kind = q.kind, stats = q.stats() } end
    return out
  end
  return p
end

-- The members themselves: the host freezes the global (a read-only proxy that
-- `pairs` and the REPL's printer can list).
resilience = R
