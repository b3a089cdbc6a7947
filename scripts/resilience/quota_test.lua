-- Quota exhaustion under parallel load: throttling once the account's rate is passed,
-- and ServiceQuotaExceeded (not retryable) reported per branch, never retried blindly.
local MODEL = "amazon.nova-micro-v1:0"

local function prompts(n)
  local list = {}
  for i = 1, n do list[i] = "request " .. i end
  return list
end

describe("quota exhaustion under parallel", function()
  test("a rate limiter plus retry gets every parallel call through a throttling quota", function()
    emulator.fault{operation = "Converse", error = "ThrottlingException", retry_after_ms = 10,
                   probability = 0.5, seed = 11, seconds = 30}
    local limiter = resilience.rate_limit{rate = 200, per = 1, burst = 4}
    local guarded = resilience.pipeline{resilience.retry{attempts = 6, base = 0.01}, limiter}
    local client = bedrock.client{retry = {max_attempts = 1}}
    local answers = map(prompts(16), function(p)
      return guarded(function() return client:converse{model = MODEL, messages = p} end).text
    end, {concurrency = 8})
    expect(#answers).to_equal(16)
    for i, a in ipairs(answers) do expect(a).to_contain("request " .. i) end
    local m = metrics.summary()
    expect(m.errors.ThrottlingException).to_be_greater_than(0)
    expect(m.succeeded).to_equal(16)
  end)

  test("ServiceQuotaExceeded is final: settle shows which branches failed", function()
    emulator.fault{operation = "Converse", error = "ServiceQuotaExceededException", times = 3}
    local results, errors = parallel(
      function() return bedrock.converse{model = MODEL, messages = "a"}.text end,
      function() return bedrock.converse{model = MODEL, messages = "b"}.text end,
      function() return bedrock.converse{model = MODEL, messages = "c"}.text end,
      function() return bedrock.converse{model = MODEL, messages = "d"}.text end,
      function() return bedrock.converse{model = MODEL, messages = "e"}.text end,
      {settle = true, concurrency = 5})
    local failed, ok = 0, 0
    for i = 1, 5 do
      if errors[i] then
        failed = failed + 1
        expect(errors[i].code).to_equal("ServiceQuotaExceededException")
        expect(errors[i].retryable).to_equal(false)
        expect(errors[i].attempts).to_equal(1)
      else
        ok = ok + 1
      end
    end
    expect(failed).to_equal(3)
    expect(ok).to_equal(2)
  end)

  test("a bulkhead caps concurrent calls below the quota", function()
    local bulkhead = resilience.bulkhead{max_concurrent = 2}
    fault.inject{operation = "Converse", latency_ms = 30}
    map(prompts(8), function(p)
      return bulkhead(function() return bedrock.converse{model = MODEL, messages = p} end)
    end, {concurrency = 8})
    expect(bulkhead.stats().peak).to_equal(2)
    expect(bulkhead.stats().calls).to_equal(8)
  end)
end)
