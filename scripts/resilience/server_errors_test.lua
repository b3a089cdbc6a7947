-- A burst of 5xx answers from the service side (the emulator) and from the client side
-- (fault.inject works against any target, real Bedrock included).
local MODEL = "amazon.nova-micro-v1:0"

describe("5xx burst", function()
  test("ServiceUnavailable then InternalServer: retried until the service recovers", function()
    emulator.fault{operation = "Converse", error = "ServiceUnavailableException", retry_after_ms = 20, times = 1}
    emulator.fault{operation = "Converse", error = "InternalServerException", retry_after_ms = 20, times = 1}
    local r = bedrock.converse{model = MODEL, messages = "hello"}
    expect(r.attempts).to_equal(3)
    expect(r.attempt_log[1].status).to_equal(503)
    expect(r.attempt_log[2].status).to_equal(500)
    local seen = emulator.requests()
    expect(#seen).to_be_at_least(3)
  end)

  test("a seeded 40% error rate over 20 calls: every call still succeeds", function()
    fault.inject{operation = "Converse", error = "InternalServerException", retry_after_ms = 5,
                 probability = 0.4, seed = 2024}
    local retry = resilience.retry{attempts = 4, base = 0.01}
    local answers = map({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, function(i)
      return retry(function() return bedrock.converse{model = MODEL, messages = "item " .. i} end).text
    end, {concurrency = 5})
    expect(#answers).to_equal(20)
    local m = metrics.summary()
    expect(m.succeeded).to_equal(20)
    expect(m.attempt_errors.InternalServerException).to_be_greater_than(0)
    expect(#fault.injections()).to_equal(m.attempt_errors.InternalServerException)
  end)

  test("resets and timeouts are transport errors, retried by the client", function()
    fault.inject{operation = "Converse", reset = true, times = 1}
    fault.inject{operation = "Converse", timeout = true, times = 1}
    local r = bedrock.converse{model = MODEL, messages = "hi"}
    expect(r.attempts).to_equal(3)
    expect(r.attempt_log[1].code).to_equal("ConnectionReset")
    expect(r.attempt_log[2].code).to_equal("FirstByteTimeout")
  end)
end)
