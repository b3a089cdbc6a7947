import Foundation
import Quarry
import Testing

/// Item 7 / row 10 of issue 16: a host call's continuation belongs to the scheduler.
/// While a host call waits, no coroutine on its resume chain (the one that called, the
/// ones its suspension passed through, and the scheduler's own branch coroutine) can be
/// resumed, wrapped or closed by script code.
@Suite struct SchedulerIntegrityTests {
    @Test func anotherBranchCannotResumeACoroutineSuspendedThrough() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local outer, inner, branch
                local got, tries = nil, {}
                parallel(function()
                  branch = coroutine.running()
                  outer = coroutine.create(function()
                    inner = coroutine.wrap(function() return select("#", sleep(0.3)) end)
                    return inner()
                  end)
                  got = { coroutine.resume(outer) }
                end, function()
                  while outer == nil or inner == nil do sleep(0.01) end
                  local function try(name, f, ...)
                    local ok, err = pcall(f, ...)
                    tries[#tries + 1] = name .. ": " .. tostring(ok) .. " " .. tostring(err)
                  end
                  try("resume outer", coroutine.resume, outer, "FORGED")
                  try("close outer", coroutine.close, outer)
                  try("call inner", inner, "FORGED")
                  try("resume branch", coroutine.resume, branch, "FORGED")
                  try("close branch", coroutine.close, branch)
                  try("wrap of a waiting function", coroutine.wrap(function() return inner("FORGED") end))
                end)
                return { got = got, tries = tries, status = coroutine.status(outer) }
                """)
            // The sleep returned its own (empty) result, not a value the script chose.
            #expect(r.field("got") == .array([.boolean(true), .integer(0)]))
            #expect(r.field("status") == .string("dead"))
            guard case .array(let tries) = r.field("tries") else {
                Issue.record("no tries: \(r)")
                return
            }
            #expect(tries.count == 6)
            for attempt in tries {
                let text = attempt.stringValue ?? ""
                #expect(text.contains(": false ") && text.contains("waiting for a host call"), "\(text)")
            }
        }
    }

    /// Once the call has returned, the same coroutines are ordinary again.
    @Test func theChainIsReleasedWhenTheCallReturns() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                local co = coroutine.create(function()
                  local w = coroutine.wrap(function() sleep(0.01) coroutine.yield("paused") return "end" end)
                  local a = w()
                  coroutine.yield(a)
                  return w()
                end)
                local _, first = coroutine.resume(co)
                local _, second = coroutine.resume(co)
                return first .. "," .. second .. "," .. coroutine.status(co)
                """)
            #expect(r == .string("paused,end,dead"))
        }
    }
}
