-- A circuit breaker opens when the failure rate in its window passes the threshold,
-- refuses calls (without sending them) while open, and closes after a good trial call.
local MODEL = "amazon.nova-micro-v1:0"

describe("circuit breaker", function()
  local client
  before_each(function() client = bedrock.client{retry = {max_attempts = 1}} end)

  local function call(breaker, text)
    return breaker(function() return client:converse{model = MODEL, messages = text} end)
  end

  test("opens after the failure rate is reached, then closes after open_for", function()
    local transitions = {}
    local breaker = resilience.circuit_breaker{failure_rate = 0.5, window = 4, open_for = 1,
      on_state = function(from, to) transitions[#transitions + 1] = from .. "→" .. to end}
    expect(call(breaker, "ok").text).to_contain("ok")
    fault.inject{operation = "Converse", error = "InternalServerException", times = 3}
    for i = 1, 3 do expect(function() call(breaker, "fail " .. i) end).to_fail_with("InternalServerException") end
    expect(breaker.state()).to_equal("open")

    emulator.clear_requests()
    expect(function() call(breaker, "refused") end).to_fail_with("CircuitOpen")
    expect(#emulator.requests()).to_equal(0)

    sleep(1.05)
    expect(breaker.state()).to_equal("half_open")
    expect(call(breaker, "trial").text).to_contain("trial")
    expect(breaker.state()).to_equal("closed")
    expect(transitions).to_equal({"closed→open", "open→half_open", "half_open→closed"})
    local stats = breaker.stats()
    expect(stats.rejected).to_equal(1)
    expect(stats.opened).to_equal(1)
  end)

  test("a failed trial call opens the circuit again", function()
    local breaker = resilience.circuit_breaker{failure_rate = 1, window = 2, open_for = 0.5}
    fault.inject{operation = "Converse", error = "ServiceUnavailableException", times = 3}
    for i = 1, 2 do expect(function() call(breaker, "x") end).to_fail_with("ServiceUnavailableException") end
    expect(breaker.state()).to_equal("open")
    sleep(0.55)
    expect(function() call(breaker, "trial") end).to_fail_with("ServiceUnavailableException")
    expect(breaker.state()).to_equal("open")
    expect(breaker.stats().opened).to_equal(2)
  end)

  test("composed: retry outside the breaker stops at CircuitOpen", function()
    local breaker = resilience.circuit_breaker{failure_rate = 0.5, window = 2, open_for = 5}
    local policy = resilience.pipeline{
      resilience.retry{attempts = 5, base = 0.01, retry_on = {"InternalServerException"}},
      breaker,
    }
    fault.inject{operation = "Converse", error = "InternalServerException"}
    expect(function()
      policy(function() return client:converse{model = MODEL, messages = "x"} end)
    end).to_fail_with("CircuitOpen")
    expect(metrics.summary().calls).to_equal(2)
  end)
end)
