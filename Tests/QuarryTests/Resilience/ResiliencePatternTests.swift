import Foundation
import Quarry
import Testing

/// Each resilience pattern, written as a Lua test file run by the real runner against a
/// live emulator: a Swift test per pattern, which fails when any of its Lua tests fails.
@Suite struct ResiliencePatternTests {
    func expectAllPass(_ name: String, _ source: String, count: Int) async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(name, source)
            #expect(summary.failed == 0, "\(summary.problems)")
            #expect(summary.passed == count, "\(summary.results.map(\.name))")
        }
    }

    @Test("retry: attempts, backoff schedule, retry_on, stats")
    func retry() async throws {
        try await expectAllPass(
            "retry_test.lua",
            """
            test("retries a flaky function until it succeeds", function()
              local n = 0
              local waits = {}
              local r = resilience.retry{attempts = 4, base = 0.01, multiplier = 3, jitter = "none",
                on_retry = function(e, attempt, wait) waits[attempt] = wait end}
              local v = r(function(x) n = n + 1; if n < 3 then error({code = "ThrottlingException", retryable = true}) end; return x * 2 end, 21)
              expect(v).to_equal(42)
              expect(waits).to_equal({0.01, 0.03})
              expect(r.stats()).to_equal({calls = 1, attempts = 3, retries = 2, failures = 0, successes = 1, waited = 0.04})
            end)
            test("gives up after attempts and re-raises the last error", function()
              local r = resilience.retry{attempts = 2, base = 0}
              expect(function() r(function() error({code = "Timeout", message = "slow"}) end) end).to_fail_with("Timeout")
              expect(r.stats().attempts).to_equal(2)
            end)
            test("retry_on limits what is retried", function()
              local r = resilience.retry{attempts = 5, base = 0, retry_on = {"A"}}
              local n = 0
              expect(function() r(function() n = n + 1; error({code = n == 1 and "A" or "B"}) end) end).to_fail_with("B")
              expect(n).to_equal(2)
            end)
            test("bad options are errors naming the option", function()
              expect(function() resilience.retry{atempts = 3} end).to_fail_with("unknown option 'atempts'")
              expect(function() resilience.retry{attempts = 0} end).to_fail_with("'attempts' must be a number")
              expect(function() resilience.bulkhead{queue_timeout = 0/0} end).to_fail_with("'queue_timeout' must be a number")
              expect(function() resilience.bulkhead{queue_timeout = "1"} end).to_fail_with("'queue_timeout' must be a number")
            end)
            """, count: 4)
    }

    @Test("timeout: hands the budget to the function and fails past the deadline")
    func timeout() async throws {
        try await expectAllPass(
            "timeout_test.lua",
            """
            test("fast enough", function()
              -- 30 s, not 1: a loaded CI machine once stalled this trivial function 1.035 s.
              local t = resilience.timeout(30)
              expect(t(function(budget) expect(budget.timeout).to_equal(30); return "ok" end)).to_equal("ok")
            end)
            test("too slow: Timeout", function()
              local t = resilience.timeout{seconds = 0.05}
              local e = expect(function() t(function() sleep(0.1) end) end).to_fail_with("Timeout")
              expect(e.retryable).to_equal(true)
              expect(t.stats().timeouts).to_equal(1)
            end)
            test("the budget bounds a Bedrock call on the wire", function()
              fault.inject{operation = "Converse", stall = true}
              local t = resilience.timeout(0.3)
              local started = now()
              expect(function()
                t(function(budget)
                  return bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hi", timeout = budget.timeout}
                end)
              end).to_fail_with("Timeout")
              expect(now() - started).to_be_less_than(5)
            end)
            """, count: 3)
    }

    @Test("circuit breaker: opens on the failure rate, rejects, half-opens, closes")
    func circuitBreaker() async throws {
        try await expectAllPass(
            "breaker_test.lua",
            """
            test("state machine", function()
              local b = resilience.circuit_breaker{failure_rate = 0.5, window = 4, open_for = 0.5}
              local function fail() error({code = "InternalServerException"}) end
              b(function() return 1 end)
              b(function() return 1 end)
              pcall(b, fail)
              expect(b.state()).to_equal("closed")
              pcall(b, fail)
              expect(b.state()).to_equal("open")
              expect(function() b(function() return 1 end) end).to_fail_with("CircuitOpen")
              sleep(0.55)
              expect(b.state()).to_equal("half_open")
              expect(b(function() return "trial" end)).to_equal("trial")
              expect(b.state()).to_equal("closed")
              expect(b.stats().rejected).to_equal(1)
            end)
            test("validation errors do not count as failures by default", function()
              local b = resilience.circuit_breaker{failure_rate = 0.5, window = 2}
              for i = 1, 4 do pcall(b, function() error({code = "ValidationError"}) end) end
              expect(b.state()).to_equal("closed")
            end)
            """, count: 2)
    }

    @Test("fallback: regions in order with clients, models, functions")
    func fallback() async throws {
        try await expectAllPass(
            "fallback_test.lua",
            """
            test("regions: the preferred region first", function()
              fault.inject{region = "us-east-1", error = "ServiceUnavailableException", retry_after_ms = 1}
              local f = resilience.fallback{regions = {"us-east-1", "eu-west-1"}}
              local seen = {}
              local r = f(function(client) seen[#seen + 1] = tostring(client); return client:converse{model = "amazon.nova-micro-v1:0", messages = "hi"} end)
              expect(seen).to_equal({"BedrockClient<us-east-1>", "BedrockClient<eu-west-1>"})
              expect(r.text).to_contain("hi")
              local last = emulator.requests()
              expect(last[#last].region).to_equal("eu-west-1")
            end)
            test("models and functions", function()
              local m = resilience.fallback{models = {"a", "b"}}
              expect(m(function(model) if model == "a" then error({code = "X"}) end; return model end)).to_equal("b")
              local f = resilience.fallback{functions = {function() error("first") end, function() return "second" end}}
              expect(f()).to_equal("second")
            end)
            test("should_fallback can stop early", function()
              local m = resilience.fallback{models = {"a", "b"}, should_fallback = function(e) return e.code ~= "Stop" end}
              expect(function() m(function() error({code = "Stop"}) end) end).to_fail_with("Stop")
            end)
            """, count: 3)
    }

    @Test("hedge: a backup after the delay wins when the first is slow; no backup when it is fast")
    func hedge() async throws {
        try await expectAllPass(
            "hedge_test.lua",
            """
            test("slow primary: the backup wins", function()
              local h = resilience.hedge{delay = 0.05}
              local n = 0
              local v = h(function() n = n + 1; local me = n; if me == 1 then sleep(1) end; return me end)
              expect(v).to_equal(2)
              expect(h.stats()).to_equal({calls = 1, hedged = 1, backup_won = 1})
            end)
            test("fast primary: no backup", function()
              -- a delay far beyond the call's time, so a loaded machine cannot hedge it
              local h = resilience.hedge{delay = 5}
              fault.inject{operation = "Converse", latency_ms = 1}
              local r = h(function() return bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hi"} end)
              expect(r.text).to_contain("hi")
              expect(h.stats().hedged).to_equal(0)
              expect(metrics.summary().calls).to_equal(1)
            end)
            """, count: 2)
    }

    @Test("rate limit and bulkhead bound throughput and concurrency")
    func rateLimitAndBulkhead() async throws {
        try await expectAllPass(
            "limits_test.lua",
            """
            test("rate limit spaces calls after the burst", function()
              local rl = resilience.rate_limit{rate = 20, per = 1, burst = 2}
              local started = now()
              for i = 1, 5 do rl(function() end) end
              expect(now() - started).to_be_at_least(0.14)
              expect(rl.stats().waited).to_be_greater_than(0)
            end)
            test("rate limit without waiting refuses", function()
              local rl = resilience.rate_limit{rate = 1, per = 60, burst = 1, wait = false}
              rl(function() end)
              expect(function() rl(function() end) end).to_fail_with("RateLimited")
            end)
            test("bulkhead caps concurrency and rejects past the queue", function()
              local b = resilience.bulkhead{max_concurrent = 2, max_queue = 1}
              local results, errors = parallel(
                function() return b(function() sleep(0.1); return 1 end) end,
                function() return b(function() sleep(0.1); return 2 end) end,
                function() return b(function() sleep(0.1); return 3 end) end,
                function() return b(function() sleep(0.1); return 4 end) end,
                {settle = true})
              local rejected = 0
              for i = 1, 4 do if errors[i] then expect(errors[i].code).to_equal("BulkheadFull"); rejected = rejected + 1 end end
              expect(rejected).to_equal(1)
              expect(b.stats().peak).to_equal(2)
            end)
            """, count: 3)
    }

    @Test("pipeline composes policies outermost first")
    func pipeline() async throws {
        try await expectAllPass(
            "pipeline_test.lua",
            """
            test("retry around fallback around a flaky call", function()
              local calls = {}
              local p = resilience.pipeline{
                resilience.retry{attempts = 3, base = 0, retry_on = {"AllFallbacksFailed"}},
                resilience.fallback{models = {"a", "b"}},
              }
              local n = 0
              local v = p(function(model)
                n = n + 1
                calls[#calls + 1] = model
                if n <= 2 then error({code = "X"}) end
                return model
              end)
              expect(v).to_equal("a")
              expect(calls).to_equal({"a", "b", "a"})
              local stats = p.stats()
              expect(stats[1].kind).to_equal("retry")
              expect(stats[1].stats.retries).to_equal(1)
              expect(stats[2].kind).to_equal("fallback")
            end)
            test("a pipeline rejects things that are not policies", function()
              expect(function() resilience.pipeline{function() end} end).to_fail_with("not a resilience policy")
            end)
            """, count: 2)
    }
}
