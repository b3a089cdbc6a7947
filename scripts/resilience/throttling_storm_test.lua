-- A throttling storm: the service answers ThrottlingException for a while. The client's
-- own retry backs off (honouring x-amz-retry-after); a resilience.retry around the call
-- rides out storms longer than the client's attempts.
local MODEL = "anthropic.claude-3-haiku-20240307-v1:0"

describe("throttling storm", function()
  test("the client retries throttled calls with backoff and succeeds", function()
    emulator.fault{operation = "Converse", error = "ThrottlingException", retry_after_ms = 40, times = 2}
    local r = bedrock.converse{model = MODEL, messages = "Summarise the storm"}
    expect(r.attempts).to_equal(3)
    local log = r.attempt_log
    expect(log[1].code).to_equal("ThrottlingException")
    expect(log[1].status).to_equal(429)
    expect(log[1].wait_ms).to_be_close_to(40, 0.5)
    expect(log[2].decision).to_match("^retrying")
    expect(log[3].outcome).to_equal("success")
  end)

  test("a storm longer than the client's attempts fails with the whole attempt log", function()
    fault.inject{operation = "Converse", error = "ThrottlingException", retry_after_ms = 10}
    local err = expect(function() bedrock.converse{model = MODEL, messages = "hi"} end)
      .to_fail_with("ThrottlingException")
    expect(err.retryable).to_be_truthy()
    expect(err.attempts).to_equal(3)
    expect(err.attempt_log[3].decision).to_match("all 3 attempts used")
  end)

  test("resilience.retry with exponential backoff outlasts the storm", function()
    local client = bedrock.client{retry = {max_attempts = 1}}
    fault.inject{operation = "Converse", error = "ThrottlingException", times = 4}
    local waits = {}
    local retry = resilience.retry{attempts = 6, base = 0.02, multiplier = 2, jitter = "none",
      on_retry = function(err, attempt, wait) waits[#waits + 1] = wait end}
    local r = retry(function() return client:converse{model = MODEL, messages = "still there?"} end)
    expect(r.text).to_contain("still there?")
    expect(retry.stats().retries).to_equal(4)
    expect(waits).to_equal({0.02, 0.04, 0.08, 0.16})
    local m = metrics.summary()
    expect(m.calls).to_equal(5)
    expect(m.errors.ThrottlingException).to_equal(4)
    expect(m.succeeded).to_equal(1)
  end)

  test("non-retryable errors are not retried by resilience.retry", function()
    local client = bedrock.client{retry = {max_attempts = 1}}
    fault.inject{operation = "Converse", error = "ValidationException"}
    local retry = resilience.retry{attempts = 5, base = 0.01}
    expect(function() retry(function() return client:converse{model = MODEL, messages = "x"} end) end)
      .to_fail_with("ValidationException")
    expect(retry.stats().attempts).to_equal(1)
  end)
end)
