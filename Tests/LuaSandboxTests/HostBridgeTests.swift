import Foundation
import LuaSandbox
import Testing

/// A request a host function hands to the scheduler.
struct WaitRequest: Sendable { let value: LuaValue; let fail: Bool }

/// Registers `wait(x)` (suspends; the resolver answers x * 10, or an error table when
/// x is negative) and `throttle()` (raises a host error table).
func installScheduling(_ state: LuaState) throws {
    try state.setGlobal(
        "wait",
        state.register("wait") { call in
            guard case .integer(let n) = call.argument(1) else { return .failure("wait: expected an integer") }
            return .suspend(WaitRequest(value: .integer(n), fail: n < 0))
        })
    try state.setGlobal(
        "throttle",
        state.register("throttle") { _ in
            .error(
                .tagged(
                    metatable: LuaState.errorMetatable,
                    .map([
                        "code": .string("ThrottlingException"), "message": .string("slow down"),
                        "retryable": .boolean(true),
                    ])))
        })
}

@Sendable func resolveWait(_ request: any Sendable) async throws -> LuaResumeInput {
    guard let wait = request as? WaitRequest, case .integer(let n) = wait.value else {
        return .error(.string("unexpected request"))
    }
    try await Task.sleep(nanoseconds: 1_000_000)
    if wait.fail {
        return .error(
            .tagged(
                metatable: LuaState.errorMetatable,
                .map(["code": .string("ValidationException"), "message": .string("negative")])))
    }
    return .values([.integer(n * 10)])
}

/// A Swift object whose lifetime the tests watch.
final class Tracked: Sendable {}
final class WeakBox: @unchecked Sendable { weak var object: Tracked? }

@Suite struct HostBridgeTests {
    @Test func hostFunctionsReturnValuesAndReceiveConvertedArguments() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { state in
            try state.setGlobal(
                "sum",
                state.register("sum") { call in
                    guard case .array(let items) = call.argument(1) else { return .failure("sum: expected a list") }
                    var total: Int64 = 0
                    for case .integer(let i) in items { total += i }
                    return .values([.integer(total), .string("done")])
                })
        }
        let values = try await sandbox.run("local s, w = sum({1, 2, 3, 4}) return s, w")
        #expect(values == [.integer(10), .string("done")])
    }

    @Test func hostErrorTablesHaveAReadableToString() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installScheduling($0) }
        let values = try await sandbox.run(
            """
            local ok, e = pcall(throttle)
            return ok, tostring(e), e.code, e.retryable, getmetatable(e)
            """)
        #expect(
            values == [
                .boolean(false), .string("ThrottlingException: slow down"),
                .string("ThrottlingException"), .boolean(true), .string("locked"),
            ])
        do {
            _ = try await sandbox.run("throttle()")
            Issue.record("expected an error")
        } catch let LuaError.runtime(message, value) {
            #expect(message == "ThrottlingException: slow down")
            #expect(value?["code"] == .string("ThrottlingException"))
        }
    }

    @Test func aSuspendedHostCallIsResumedWithResultsOrAnError() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installScheduling($0) }
        let values = try await sandbox.run(
            """
            local a = wait(4)
            local ok, e = pcall(wait, -1)
            return a, ok, tostring(e), wait(5) + 1
            """, resolve: resolveWait)
        #expect(values == [.integer(40), .boolean(false), .string("ValidationException: negative"), .integer(51)])
    }

    @Test func suspensionsPassThroughTheScriptsOwnCoroutines() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installScheduling($0) }
        let values = try await sandbox.run(
            """
            local gen = coroutine.wrap(function()
              for i = 1, 3 do coroutine.yield(wait(i)) end
              return "end"
            end)
            local co = coroutine.create(function(x)
              local y = coroutine.yield(wait(x) + 1)
              return wait(y)
            end)
            local ok1, first = coroutine.resume(co, 7)
            local ok2, second = coroutine.resume(co, 2)
            return gen(), gen(), gen(), gen(), ok1, first, ok2, second, coroutine.status(co)
            """, resolve: resolveWait)
        #expect(
            values == [
                .integer(10), .integer(20), .integer(30), .string("end"),
                .boolean(true), .integer(71), .boolean(true), .integer(20), .string("dead"),
            ])
    }

    @Test func suspendingWhereLuaCannotYieldIsAClearError() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installScheduling($0) }
        let values = try await sandbox.run(
            """
            local t = {3, 1, 2}
            local ok, e = pcall(table.sort, t, function(a, b) wait(1) return a < b end)
            local ok2, e2 = pcall(function()
              return tostring(setmetatable({}, {__tostring = function() return tostring(wait(1)) end}))
            end)
            local co = coroutine.wrap(function() return wait(2) end)
            local ok3, e3 = pcall(string.gsub, "x", "x", function() return co() end)
            return ok, e, ok2, e2, ok3, e3
            """, resolve: resolveWait)
        #expect(values.count == 6)
        #expect(values[0] == .boolean(false))
        #expect(values[1].stringValue?.contains("wait cannot wait here") == true)
        #expect(values[2] == .boolean(false))
        #expect(values[3].stringValue?.contains("cannot wait here") == true)
        #expect(values[4] == .boolean(false))
        #expect(values[5].stringValue?.contains("resumed where Lua cannot yield") == true)
    }

    @Test func theSchedulerDrivesSeveralCoroutinesIndependently() async throws {
        let sandbox = try await LuaSandbox()
        let outcome = try await sandbox.withState { state throws -> [String] in
            try installScheduling(state)
            state.beginRun(LuaLimits())
            defer { state.endRun() }
            _ = try state.execute("shared = coroutine.create(function() return wait(1) end)")
            let a = try state.newCoroutine(state.load("local ok, v = coroutine.resume(shared) return ok, v"))
            let b = try state.newCoroutine(state.load("return pcall(coroutine.resume, shared)"))
            var log: [String] = []
            guard case .suspended(let request) = state.resume(a), request is WaitRequest else {
                return ["a did not suspend"]
            }
            log.append("a suspended")
            if case .finished(let values) = state.resume(b) { log.append("b: \(values)") }
            if case .finished(let values) = state.resume(a, with: .values([.integer(99)])) {
                log.append("a: \(values)")
            }
            state.release(a)
            state.release(b)
            return log
        }
        #expect(
            outcome == [
                "a suspended",
                "b: [LuaSandbox.LuaValue.boolean(false), LuaSandbox.LuaValue.string(\"cannot resume a coroutine that is waiting for a host call\")]",
                "a: [LuaSandbox.LuaValue.boolean(true), LuaSandbox.LuaValue.integer(99)]",
            ])
    }

    @Test func interruptStopsARunFromAnotherThreadAndTheStateSurvives() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { _ = try $0.execute("kept = 'still here'") }
        let interrupter = Task {
            try await Task.sleep(nanoseconds: 200_000_000)
            sandbox.interrupt()
        }
        do {
            _ = try await sandbox.run("while true do end", limits: LuaLimits(instructions: .max, seconds: 60))
            Issue.record("expected an interrupt")
        } catch let LuaError.limit(kind, message) {
            #expect(kind == .interrupted)
            #expect(message == "interrupted")
        }
        try await interrupter.value
        #expect(try await sandbox.run("return kept") == [.string("still here")])
    }

    @Test func stateAndLimitsAcrossChunks() async throws {
        let sandbox = try await LuaSandbox()
        _ = try await sandbox.run("x = 41")
        #expect(try await sandbox.run("return x + 1") == [.integer(42)])
        // each chunk gets a fresh budget: two chunks of ~1.2M units under a 2M budget
        let limits = LuaLimits(instructions: 2_000_000)
        for _ in 0..<2 {
            _ = try await sandbox.run("local x = 0 for i = 1, 400000 do x = x + i end return x", limits: limits)
        }
        let report = try await sandbox.withState { $0.currentReport }
        #expect(report.trippedLimit == nil)
        // a fresh sandbox sees nothing of another's globals
        let fresh = try await LuaSandbox()
        #expect(try await fresh.run("return x") == [.nil])
    }

    @Test func handlesAreOpaqueWithAllowListedMethods() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installHostSurface($0) }
        let values = try await sandbox.run(
            """
            local c = host.client
            local ok, e = pcall(function() c.region = "x" end)
            return tostring(c), c:region(), c:describe(), c.secretKey, getmetatable(c), ok, type(c)
            """)
        #expect(
            values == [
                .string("BedrockClient<us-east-1>"), .string("us-east-1"),
                .string("a client for us-east-1 with key AKIA…WXYZ"), .nil, .string("locked"),
                .boolean(false), .string("userdata"),
            ])
        let echoed = try await sandbox.run("return host.echo(host.client)")
        guard case .handle(let handle) = echoed.first else { Issue.record("no handle"); return }
        #expect(handle.typeName == "BedrockClient")
        #expect(try await sandbox.withState { ($0.object(for: handle) as? SecretHolder) != nil })
    }

    @Test func keysForCompletion() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installHostSurface($0) }
        let globals = try await sandbox.keys(atPath: "")
        #expect(globals.contains("host") && globals.contains("print") && globals.contains("string"))
        #expect(!globals.contains("io") && !globals.contains("debug"))
        let strings = try await sandbox.keys(atPath: "string")
        #expect(strings.contains("format") && strings.contains("rep") && !strings.contains("dump"))
        #expect(try await sandbox.keys(atPath: "host") == ["canary", "client", "echo", "version"])
        #expect(try await sandbox.keys(atPath: "host.client") == ["describe", "region"])
        #expect(try await sandbox.keys(atPath: "nothing.here") == [])
    }

    @Test func swiftObjectsAreReleasedWhenALuaErrorPassesThroughACallback() async throws {
        let sandbox = try await LuaSandbox()
        let watcher = WeakBox()
        try await sandbox.withState { state in
            try state.setGlobal(
                "fails",
                state.register("fails") { _ in
                    let object = Tracked()
                    watcher.object = object
                    return withExtendedLifetime(object) { .failure("fails: on purpose") }
                })
        }
        let values = try await sandbox.run("local ok, e = pcall(fails) return ok, e")
        #expect(values == [.boolean(false), .string("fails: on purpose")])
        #expect(watcher.object == nil)
    }

    @Test func hostCallsAreLimitedPerRun() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { try installHostSurface($0) }
        var limits = LuaLimits()
        limits.hostCalls = 10
        await #expect(throws: LuaError.limit(.hostCalls, "sandbox limit: host call limit of 10 reached")) {
            try await sandbox.run("for i = 1, 20 do pcall(host.echo, i) end", limits: limits)
        }
    }
}
