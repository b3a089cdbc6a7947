-- [quarry prelude]: the Lua half of the host API (bedrock.*, json, log, stderr, stdin, sleep,
-- now, uuid, parallel, map), run once in every host's state. Embedded at build time; see Prelude.swift.
local Q = __quarry
__quarry = nil
local error, type, pairs, ipairs, pcall, select, tostring, setmetatable, getmetatable, rawget, rawset =
      error, type, pairs, ipairs, pcall, select, tostring, setmetatable, getmetatable, rawget, rawset
local concat, unpack, remove = table.concat, table.unpack, table.remove

-- Errors made here (parallel/map/agent) look like host errors: code, message, tostring.
local ErrorMT = {
  __tostring = function(e) return tostring(rawget(e, "code")) .. ": " .. tostring(rawget(e, "message")) end,
  __name = "error",
  __metatable = false,
}
local function raise(code, message, fields)
  local e = fields or {}
  e.code, e.message = code, message
  if e.retryable == nil then e.retryable = false end
  if e.attempts == nil then e.attempts = 0 end
  error(setmetatable(e, ErrorMT), 0)
end
local function invalid(message) raise("ValidationError", message) end

-- json ------------------------------------------------------------------------
json = {
  encode = Q["json.encode"],
  decode = Q["json.decode"],
  null = Q.null,
}
function json.empty_array() return { ["\1quarry.empty_array"] = true } end

-- base64: bytes (a Lua string) to text and back, for media and for bytes in JSON ---
base64 = { encode = Q["base64.encode"], decode = Q["base64.decode"] }

-- output and input: no `io` library (no files); these three cover what scripts need -------
local stderr_write, out_write, read = Q["stderr.write"], Q["write"], Q["stdin.read"]
write = out_write
local function method_or_function(f)
  -- works as stderr.write(...) and stderr:write(...)
  return function(first, ...)
    if type(first) == "table" then return f(...) end
    return f(first, ...)
  end
end
stderr = { write = method_or_function(stderr_write) }
stdin = {
  read = method_or_function(read),
  lines = method_or_function(function(format) return function() return read(format) end end),
}

-- time, ids, logging ------------------------------------------------------------
sleep = Q.sleep
now = Q.now
uuid = Q.uuid
local qlog = Q.log
local function logger(level)
  return function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    qlog(level, concat(parts, " "))
  end
end
log = { debug = logger("debug"), info = logger("info"), warn = logger("warn"), error = logger("error") }

-- concurrency -------------------------------------------------------------------
local group = Q.group
local function run_all(fns, concurrency)
  local n = #fns
  local results, errors, failed = {}, {}, 0
  local wrapped = {}
  for i = 1, n do
    local f = fns[i]
    wrapped[i] = function()
      local ok, r = pcall(f)
      if ok then results[i] = r else errors[i] = r; failed = failed + 1 end
    end
  end
  if n > 0 then group(wrapped, concurrency or n) end
  return results, errors, failed, n
end

local function group_failure(what, results, errors, failed, n)
  local first
  for i = 1, n do if errors[i] ~= nil then first = i; break end end
  raise("ParallelFailure",
        string.format("%s: %d of %d failed; first (#%d): %s", what, failed, n, first, tostring(errors[first])),
        { errors = errors, results = results, failed = failed, first = errors[first] })
end

function parallel(...)
  local fns = { ... }
  local opts = {}
  if type(fns[#fns]) == "table" then opts = remove(fns) end
  for i = 1, #fns do
    if type(fns[i]) ~= "function" then invalid("parallel: argument " .. i .. " is not a function") end
  end
  local results, errors, failed, n = run_all(fns, opts.concurrency)
  if opts.settle then return results, errors end
  if failed > 0 then group_failure("parallel", results, errors, failed, n) end
  return unpack(results, 1, n)
end

local qrace = Q.race
-- race(f1, f2, …): the first function to finish wins; the others are cancelled (their
-- pending Bedrock calls and sleeps too). Returns the winner's value and its index;
-- raises the winner's error if it failed.
function race(...)
  local fns = { ... }
  if #fns == 0 then invalid("race: expected at least one function") end
  for i = 1, #fns do
    if type(fns[i]) ~= "function" then invalid("race: argument " .. i .. " is not a function") end
  end
  local results, errors = {}, {}
  local wrapped = {}
  for i = 1, #fns do
    local f = fns[i]
    wrapped[i] = function()
      local ok, r = pcall(f)
      if ok then results[i] = r else errors[i] = r end
    end
  end
  local winner = qrace(wrapped)
  if errors[winner] ~= nil then error(errors[winner], 0) end
  return results[winner], winner
end

function map(list, f, opts)
  if type(list) ~= "table" then invalid("map: the first argument must be a list") end
  if type(f) ~= "function" then invalid("map: the second argument must be a function") end
  if opts ~= nil and type(opts) ~= "table" then invalid("map: the third argument must be a table of options") end
  opts = opts or {}
  local fns = {}
  for i = 1, #list do
    local item = list[i]
    fns[i] = function() return f(item, i) end
  end
  local results, errors, failed, n = run_all(fns, opts.concurrency or 16)
  if opts.settle then return results, errors end
  if failed > 0 then group_failure("map", results, errors, failed, n) end
  return results
end

-- streams -------------------------------------------------------------------------
local stream_next, stream_close = Q["stream.next"], Q["stream.close"]
local Stream = { __name = "BedrockStream", __metatable = false }
local StreamMethods = {}
Stream.__index = function(s, k)
  local m = StreamMethods[k]
  if m ~= nil then return m end
  local r = rawget(s, "result")
  if r ~= nil then return r[k] end
  return nil
end
Stream.__tostring = function(s) return "BedrockStream<" .. tostring(rawget(s, "model")) .. ">" end
function StreamMethods.close(s) stream_close(rawget(s, "_handle")) end
function StreamMethods.collect(s)
  local next = rawget(s, "_next")
  while next() ~= nil do end
  return rawget(s, "result")
end

local function stream_object(handle, model)
  -- Each stream has its own metatable whose __call is its reader, so `for ev in s`
  -- costs one call per event.
  local meta = { __name = Stream.__name, __metatable = false, __index = Stream.__index,
                 __tostring = Stream.__tostring }
  local s = setmetatable({ _handle = handle, model = model }, meta)
  local buf, i, n, done, err = nil, 0, 0, false, nil
  rawset(s, "_next", function()
    if i < n then i = i + 1; return buf[i] end
    while not done do
      local b = stream_next(handle)
      buf, n = b.events, #b.events
      if b.done then done = true; rawset(s, "result", b.result); err = b.error end
      if n > 0 then i = 1; return buf[1] end
    end
    if err ~= nil then local e = err; err = nil; error(e, 0) end
    return nil
  end)
  meta.__call = rawget(s, "_next")
  return s
end

local function strip_callbacks(req)
  if type(req) ~= "table" then return req, nil, nil end
  local on_text, on_event = rawget(req, "on_text"), rawget(req, "on_event")
  if on_text == nil and on_event == nil then return req, nil, nil end
  if on_text ~= nil and type(on_text) ~= "function" then invalid("bedrock.stream: 'on_text' must be a function") end
  if on_event ~= nil and type(on_event) ~= "function" then invalid("bedrock.stream: 'on_event' must be a function") end
  local copy = {}
  for k, v in pairs(req) do copy[k] = v end
  copy.on_text, copy.on_event = nil, nil
  return copy, on_text, on_event
end

local function open_stream(open, client, req)
  local on_text, on_event
  req, on_text, on_event = strip_callbacks(req)
  local handle = open(client, req)
  local model = type(req) == "table" and req.model or nil
  local s = stream_object(handle, model)
  if on_text == nil and on_event == nil then return s end
  local next = rawget(s, "_next")
  while true do
    local ev = next()
    if ev == nil then break end
    if on_event then on_event(ev) end
    if on_text and ev.type == "text" then on_text(ev.text) end
  end
  return rawget(s, "result")
end

-- the tables scripts see are made read-only by the host once this chunk has run
-- bedrock -----------------------------------------------------------------------------
bedrock = {}
local ops = {
  converse = Q["bedrock.converse"],
  invoke = Q["bedrock.invoke"],
  count_tokens = Q["bedrock.count_tokens"],
  apply_guardrail = Q["bedrock.apply_guardrail"],
  guardrail_checks = Q["bedrock.guardrail_checks"],
  start_async_invoke = Q["bedrock.start_async_invoke"],
  get_async_invoke = Q["bedrock.get_async_invoke"],
  list_async_invokes = Q["bedrock.list_async_invokes"],
  identity = Q["bedrock.identity"],
}
local converse_stream, invoke_stream = Q["bedrock.stream"], Q["bedrock.invoke_stream"]

local Client = { __name = "BedrockClient", __metatable = false }
local ClientMethods = {}
Client.__index = ClientMethods
Client.__tostring = function(c) return "BedrockClient<" .. tostring(rawget(c, "region")) .. ">" end
local clients = setmetatable({}, { __mode = "k" })
local function check_client(c, name)
  if type(c) ~= "table" or not clients[c] then
    invalid("BedrockClient:" .. name .. " must be called with a colon: c:" .. name .. "{…}")
  end
  return rawget(c, "handle")
end

for name, op in pairs(ops) do
  bedrock[name] = function(req) return op(nil, req) end
  ClientMethods[name] = function(c, req) return op(check_client(c, name), req) end
end
function bedrock.stream(req) return open_stream(converse_stream, nil, req) end
function bedrock.invoke_stream(req) return open_stream(invoke_stream, nil, req) end
function ClientMethods.stream(c, req) return open_stream(converse_stream, check_client(c, "stream"), req) end
function ClientMethods.invoke_stream(c, req) return open_stream(invoke_stream, check_client(c, "invoke_stream"), req) end

local new_client = Q["bedrock.client"]
function bedrock.client(opts)
  local handle, region = new_client(opts)
  local c = setmetatable({ handle = handle, region = region }, Client)
  clients[c] = true
  return c
end
bedrock.models = Q["bedrock.models"]
bedrock.budget = Q["bedrock.budget"]
bedrock.default_model = Q["bedrock.default_model"]

-- batch inference: bedrock.batch{…} returns a job handle --------------------------------
local batch_submit, batch_status = Q["bedrock.batch_submit"], Q["bedrock.batch_status"]
local batch_stop, batch_results = Q["bedrock.batch_stop"], Q["bedrock.batch_results"]
local batch_poll = Q["bedrock.batch_poll"]
local Job = { __name = "BatchJob", __metatable = false }
local JobMethods = {}
Job.__index = JobMethods
Job.__tostring = function(j) return "BatchJob<" .. tostring(rawget(j, "id")) .. ">" end
local jobs = setmetatable({}, { __mode = "k" })
local function check_job(j, name)
  if type(j) ~= "table" or not jobs[j] then
    invalid("BatchJob:" .. name .. " must be called with a colon: job:" .. name .. "()")
  end
  return rawget(j, "_handle")
end
function bedrock.batch(opts)
  if type(opts) ~= "table" then invalid("bedrock.batch: expected a table of options, e.g. bedrock.batch{model=…, records=…}") end
  local on_progress = rawget(opts, "on_progress")
  if on_progress ~= nil and type(on_progress) ~= "function" then invalid("bedrock.batch: 'on_progress' must be a function") end
  local handle, id, name = batch_submit(opts)
  local j = setmetatable({ _handle = handle, id = id, name = name, _on_progress = on_progress }, Job)
  jobs[j] = true
  return j
end
local batch_attach = Q["bedrock.batch_attach"]
function bedrock.batch_job(opts)
  local handle, id, name = batch_attach(opts)
  local j = setmetatable({ _handle = handle, id = id, name = name }, Job)
  jobs[j] = true
  return j
end
function JobMethods.status(j) return batch_status(check_job(j, "status")) end
function JobMethods.stop(j) return batch_stop(check_job(j, "stop")) end
function JobMethods.wait(j, opts)
  local handle = check_job(j, "wait")
  if opts ~= nil and type(opts) ~= "table" then invalid("job:wait: expected a table of options, e.g. job:wait{poll = 30}") end
  local poll = opts and opts.poll or batch_poll()
  if type(poll) ~= "number" or poll ~= poll or poll <= 0 or poll > 3600 then
    invalid("job:wait: 'poll' must be a number of seconds > 0 and <= 3600")
  end
  local on_progress = opts and opts.on_progress or rawget(j, "_on_progress")
  if on_progress ~= nil and type(on_progress) ~= "function" then invalid("job:wait: 'on_progress' must be a function") end
  local last_status, last_processed
  while true do
    local s = batch_status(handle)
    if s.status ~= last_status or s.processed ~= last_processed then
      last_status, last_processed = s.status, s.processed
      if on_progress then
        on_progress(s)
      else
        local counts = ""
        if s.total then counts = " " .. tostring(s.processed or 0) .. "/" .. tostring(s.total) .. " records" end
        if s.failed and s.failed > 0 then counts = counts .. " (" .. tostring(s.failed) .. " failed)" end
        stderr_write("batch " .. tostring(s.id) .. ": " .. tostring(s.status) .. counts .. "\n")
      end
    end
    if s.done then return s end
    sleep(poll)
  end
end
function JobMethods.results(j)
  local handle = check_job(j, "results")
  local page, more = batch_results(handle, 1)
  local next_first, i = #page + 1, 0
  return function()
    i = i + 1
    if i > #page then
      if not more then return nil end
      page, more = batch_results(handle, next_first)
      next_first, i = next_first + #page, 1
      if #page == 0 then return nil end
    end
    return page[i]
  end
end

-- agent: converse → tool calls → tool results, until the model stops -----------------------
local function tool_table(tools)
  local specs, runners = {}, {}
  for name, t in pairs(tools) do
    if type(name) ~= "string" then invalid("bedrock.agent: tools must be a table of name = function") end
    if type(t) == "function" then
      specs[#specs + 1] = { name = name, description = "the " .. name .. " tool" }
      runners[name] = t
    elseif type(t) == "table" and type(t.run or t[1]) == "function" then
      specs[#specs + 1] = { name = name, description = t.description or ("the " .. name .. " tool"), schema = t.schema }
      runners[name] = t.run or t[1]
    else
      invalid("bedrock.agent: tool '" .. name .. "' must be a function or {description=…, schema=…, run=function}")
    end
  end
  table.sort(specs, function(a, b) return a.name < b.name end)
  return specs, runners
end

-- What the model reads when a tool raises: `code: message` for an error table (a host
-- error's own tostring, or a plain {code=, message=} table), the text of anything else.
local function tool_error_text(e)
  if type(e) == "table" and getmetatable(e) == nil then
    local code, message = rawget(e, "code"), rawget(e, "message")
    if code ~= nil or message ~= nil then
      if code == nil then return tostring(message) end
      if message == nil then return tostring(code) end
      return tostring(code) .. ": " .. tostring(message)
    end
  end
  return tostring(e)
end

local agent_fields = {
  model = true, prompt = true, messages = true, tools = true, system = true, inference = true,
  tool_choice = true, max_turns = true, client = true, on_tool = true, on_text = true, on_event = true,
}

function bedrock.agent(opts)
  if type(opts) ~= "table" then invalid("bedrock.agent: expected a table {model=…, prompt=…, tools={…}}") end
  for k in pairs(opts) do
    if not agent_fields[k] then
      local known = {}
      for name in pairs(agent_fields) do known[#known + 1] = name end
      table.sort(known)
      invalid("bedrock.agent: unknown field '" .. tostring(k) .. "' (known: " .. concat(known, ", ") .. ")")
    end
  end
  for _, name in ipairs { "on_tool", "on_text", "on_event" } do
    if opts[name] ~= nil and type(opts[name]) ~= "function" then
      invalid("bedrock.agent: '" .. name .. "' must be a function")
    end
  end
  local specs, runners = tool_table(opts.tools or {})
  local messages = {}
  local initial = opts.messages or opts.prompt
  if type(initial) == "string" then
    messages[1] = { role = "user", content = initial }
  elseif type(initial) == "table" then
    for i, m in ipairs(initial) do messages[i] = m end
  else
    invalid("bedrock.agent: 'prompt' (a string) or 'messages' is required")
  end
  local client = opts.client
  local on_text, on_event = opts.on_text, opts.on_event
  local call
  if on_text ~= nil or on_event ~= nil then
    -- Each turn streams; the callbacks see its events as they arrive.
    call = function(r)
      r.on_text, r.on_event = on_text, on_event
      if client then return client:stream(r) end
      return bedrock.stream(r)
    end
  else
    call = client and function(r) return client:converse(r) end or bedrock.converse
  end
  local max_turns = opts.max_turns or 10
  local usage = { input_tokens = 0, output_tokens = 0, total_tokens = 0 }
  for turn = 1, max_turns do
    local r = call {
      model = opts.model, messages = messages, system = opts.system, inference = opts.inference,
      tools = #specs > 0 and specs or nil, tool_choice = opts.tool_choice,
    }
    for k, v in pairs(r.usage or {}) do usage[k] = (usage[k] or 0) + v end
    messages[#messages + 1] = r.message
    if r.stop_reason ~= "tool_use" or #r.tool_uses == 0 then
      r.turns, r.messages, r.usage = turn, messages, usage
      return r
    end
    local results = {}
    for _, use in ipairs(r.tool_uses) do
      local run = runners[use.name]
      local ok, out
      if run == nil then
        ok, out = false, "no tool named " .. tostring(use.name)
      else
        ok, out = pcall(run, use.input)
      end
      if opts.on_tool then opts.on_tool(use.name, use.input, ok, out) end
      local block = { type = "tool_result", id = use.id }
      if ok then
        block.content = type(out) == "table" and { out } or tostring(out == nil and "" or out)
      else
        block.content, block.status = tool_error_text(out), "error"
      end
      results[#results + 1] = block
    end
    messages[#messages + 1] = { role = "user", content = results }
  end
  raise("MaxTurnsExceeded", "bedrock.agent: the model still wanted tools after " .. max_turns .. " turns",
        { messages = messages, usage = usage })
end
