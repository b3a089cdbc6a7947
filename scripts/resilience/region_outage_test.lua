-- A regional outage: every call in us-east-1 fails; resilience.fallback moves to the
-- next region, keeping the preferred region first for every new call.
local MODEL = "amazon.nova-micro-v1:0"

describe("region outage", function()
  test("fallback over regions serves from the first healthy region", function()
    emulator.fault{region = "us-east-1", error = "ServiceUnavailableException", retry_after_ms = 5}
    local failover = resilience.fallback{regions = {"us-east-1", "us-west-2", "eu-west-1"}}
    local answer = failover(function(client) return client:converse{model = MODEL, messages = "where am I?"} end)
    expect(answer.text).to_contain("where am I?")
    local stats = failover.stats()
    expect(stats.fallbacks).to_equal(1)
    expect(stats.served_by["us-west-2"]).to_equal(1)
    local regions = {}
    for _, r in ipairs(emulator.requests()) do regions[r.region] = (regions[r.region] or 0) + 1 end
    expect(regions["us-west-2"]).to_be_at_least(1)
    expect(regions["eu-west-1"]).to_be_nil()
  end)

  test("when the outage ends the preferred region serves again", function()
    local failover = resilience.fallback{regions = {"us-east-1", "us-west-2"}}
    local id = emulator.fault{region = "us-east-1", error = "ServiceUnavailableException", retry_after_ms = 5}
    failover(function(c) return c:converse{model = MODEL, messages = "one"} end)
    expect(emulator.remove(id)).to_be_truthy()
    failover(function(c) return c:converse{model = MODEL, messages = "two"} end)
    local stats = failover.stats()
    expect(stats.served_by["us-west-2"]).to_equal(1)
    expect(stats.served_by["us-east-1"]).to_equal(1)
  end)

  test("every region down: AllFallbacksFailed lists each region's error", function()
    emulator.fault{error = "ServiceUnavailableException", retry_after_ms = 5}
    local failover = resilience.fallback{regions = {"us-east-1", "us-west-2"}}
    local err = expect(function()
      failover(function(c) return c:converse{model = MODEL, messages = "anyone?"} end)
    end).to_fail_with("AllFallbacksFailed")
    expect(#err.errors).to_equal(2)
    expect(err.message).to_contain("us-west-2: ServiceUnavailableException")
  end)

  test("fallback over models when access to the preferred model is denied", function()
    fault.inject{model = "anthropic.claude-3-haiku-20240307-v1:0", error = "AccessDeniedException"}
    local models = resilience.fallback{models = {"anthropic.claude-3-haiku-20240307-v1:0", MODEL}}
    local r = models(function(model) return bedrock.converse{model = model, messages = "hi"} end)
    expect(r.text).to_contain("hi")
    expect(models.stats().served_by[MODEL]).to_equal(1)
  end)
end)
