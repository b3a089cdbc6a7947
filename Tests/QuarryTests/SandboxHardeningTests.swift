import BedrockEmulator
import BedrockRuntime
import Foundation
import HTTPTestSupport
import Logging
import Quarry
import TestSupport
import Testing

/// A host on a real emulator with every module a script can reach (`fault` with a real
/// client injector, `emulator`, `metrics`, `resilience`), for attack tests.
struct FullHost {
    let emulator: BedrockEmulator
    let target: QuarryTarget
    let host: QuarryHost
    let logs: TextSink

    /// A `HostHarness` with a client fault injector and every module installed.
    static func with<T>(limits: LuaLimits = LuaLimits(), _ body: (FullHost) async throws -> T) async throws -> T {
        let injector = ClientFaultInjector()
        return try await HostHarness.with(policy: HostPolicy(limits: limits), middlewares: [injector]) { h in
            for module: any QuarryModule in [
                FaultModule(injector: injector), EmulatorModule(), MetricsModule(), ResilienceModule(),
            ] {
                try await h.host.install(module)
            }
            return try await body(FullHost(emulator: h.emulator, target: h.target, host: h.host, logs: h.logs))
        }
    }
}

/// Issue 16, rows 5 and 6 and items 2, 3, 4 and 6: numbers from scripts never trap a
/// conversion, values crossing Lua ⇄ Swift are budgeted, a stuck C call cannot hang the
/// host, the scheduler never waits past the deadline, and set-up code never runs
/// through globals a script replaced.
@Suite struct SandboxHardeningTests {
    /// Every extreme number a script can write.
    static let extremes = [
        "0/0", "math.huge", "-math.huge", "1e300", "-1e300", "-0.0", "2^53+1", "(1<<53)+1",
        "2^63", "math.maxinteger", "math.mininteger", "-1",
    ]
    /// The values that trap a Double → Int64 conversion (or are no number of seconds at all).
    static let trapping: Set<String> = ["0/0", "math.huge", "-math.huge", "1e300", "2^63"]

    enum Expect { case validationError, luaMessage, anything }

    /// Every binding that turns a script's number into a duration, count or size: X is
    /// replaced by each extreme.
    static let bindings: [(String, Expect)] = [
        ("sleep(X)", .validationError),
        ("bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi', timeout=X}", .validationError),
        ("bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi', first_byte_timeout=X}", .validationError),
        ("bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi', idle_timeout=X}", .validationError),
        ("bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi', inference={max_tokens=X}}", .validationError),
        (
            "bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi', inference={temperature=X}}",
            .validationError
        ),
        ("bedrock.stream{model='amazon.nova-micro-v1:0', messages='hi', timeout=X}", .validationError),
        ("bedrock.invoke{model='amazon.nova-micro-v1:0', body={max_tokens=X}, timeout=1}", .anything),
        ("bedrock.client{timeout=X}", .validationError),
        ("bedrock.client{retry={max_attempts=X}}", .validationError),
        ("bedrock.list_async_invokes{max_results=X}", .validationError),
        ("map({1, 2}, function(x) return x end, {concurrency=X})", .validationError),
        ("parallel(function() end, function() end, {concurrency=X})", .validationError),
        ("race(function() return X end)", .anything),
        (
            "bedrock.batch{model='amazon.nova-micro-v1:0', input='s3://batch-in/x.jsonl', output='s3://batch-out/x/', role_arn='arn:aws:iam::123456789012:role/R', timeout_hours=X}",
            .validationError
        ),
        ("bedrock.batch{model='amazon.nova-micro-v1:0', records={X}, output='s3://batch-out/x/'}", .validationError),
        ("json.encode(X)", .anything),
        ("json.encode({a={X}})", .anything),
        ("fault.inject{error='ThrottlingException', seconds=X}", .validationError),
        ("fault.inject{error='ThrottlingException', times=X}", .validationError),
        ("fault.inject{error='ThrottlingException', retry_after_ms=X}", .validationError),
        ("fault.inject{error='ThrottlingException', probability=X}", .validationError),
        ("fault.inject{error='ThrottlingException', seed=X}", .validationError),
        ("fault.inject{latency_ms=X}", .validationError),
        ("fault.inject{stream='drip', drip_ms=X}", .validationError),
        ("fault.inject{stream='cut', after_events=X}", .validationError),
        ("emulator.fault{error='ThrottlingException', times=X}", .validationError),
        ("emulator.fault{error='ThrottlingException', seconds=X}", .validationError),
        ("emulator.fault{latency_ms=X}", .validationError),
        ("emulator.fault{error='ThrottlingException', probability=X}", .validationError),
        ("resilience.retry{attempts=X}", .luaMessage),
        ("resilience.retry{base=X}", .luaMessage),
        ("resilience.timeout(X)", .luaMessage),
        ("resilience.circuit_breaker{window=X}", .luaMessage),
        ("resilience.rate_limit{rate=X}", .luaMessage),
        ("resilience.bulkhead{max_concurrent=X}", .luaMessage),
        ("resilience.hedge{delay=X}", .luaMessage),
        ("uuid(X)", .anything),
        ("now(X)", .anything),
        ("string.rep('a', X)", .anything),
        ("table.concat({}, '', X, X)", .anything),
        ("table.unpack({}, X, X)", .anything),
        ("utf8.char(X)", .anything),
        ("string.format('%d', X)", .anything),
        ("select(X, 1)", .anything),
        ("math.floor(X)", .anything),
        ("math.tointeger(X)", .anything),
        ("('x'):sub(X, X)", .anything),
    ]

    @Test func everyBindingTakesEveryExtremeNumberWithoutTrapping() async throws {
        try await FullHost.with(limits: LuaLimits(seconds: 20)) { h in
            for (template, expect) in Self.bindings {
                for x in Self.extremes {
                    let call = template.replacingOccurrences(of: "X", with: x)
                    let outcome: String
                    do {
                        outcome =
                            try await h.host.evaluate(
                                """
                                local ok, e = pcall(function() return \(call) end)
                                fault.clear()
                                pcall(emulator.clear)
                                if ok then return "ok" end
                                if type(e) == "table" then return tostring(rawget(e, "code")) .. ": " .. tostring(rawget(e, "message")) end
                                return "error: " .. tostring(e)
                                """, name: "=extreme"
                            ).first?.stringValue ?? "(no outcome)"
                    } catch {
                        // A sandbox limit (e.g. string.rep's memory check) is a clean end too.
                        outcome = "thrown: \(error)"
                    }
                    #expect(!outcome.isEmpty, "\(call)")
                    guard Self.trapping.contains(x) else { continue }
                    switch expect {
                    case .validationError:
                        #expect(outcome.hasPrefix("ValidationError: "), "\(call) → \(outcome)")
                        #expect(
                            outcome.contains("'") || outcome.contains("must"), "\(call) → \(outcome) names no field")
                    case .luaMessage:
                        #expect(outcome.contains("must be") || outcome.contains("needs"), "\(call) → \(outcome)")
                    case .anything:
                        break
                    }
                }
            }
        }
    }

    @Test func validationErrorsNameTheField() async throws {
        try await FullHost.with { h in
            let sleep = try await h.host.evaluate("local ok, e = pcall(sleep, 1e300) return e.code, e.message")
            #expect(
                sleep == [
                    .string("ValidationError"),
                    .string("sleep: 'seconds' must be a finite number of seconds between 0 and 31536000, got 1e+300"),
                ])
            let timeout = try await h.host.evaluate(
                """
                local ok, e = pcall(bedrock.converse, {model='amazon.nova-micro-v1:0', messages='hi', timeout=0/0})
                return e.code, e.message
                """)
            #expect(timeout.first == .string("ValidationError"))
            #expect(timeout.last?.stringValue?.contains("'timeout'") == true)
            let fault = try await h.host.evaluate(
                "local ok, e = pcall(fault.inject, {error='ThrottlingException', times=2^63}) return e.message")
            #expect(
                fault.first?.stringValue?.contains("'times' must be a whole number between 1 and 1000000000") == true)
            // Well-defined results: -0.0 seconds is no wait; 2^53+1 in a count is 2^53.
            #expect(try await h.host.evaluate("sleep(-0.0) return 'slept'") == [.string("slept")])
            #expect(
                try await h.host.evaluate("return #map({1, 2, 3}, function(x) return x end, {concurrency = 2^53+1})")
                    == [.integer(3)])
        }
    }

    // MARK: row 5 / item 3: crossings are budgeted

    /// A table of many references to one large string: copied per reference it is a
    /// gigabyte; now one copy is made and each reference is charged against what is
    /// left under the memory cap, so the call fails with a memory limit at once.
    @Test func sharedStringReferencesAreChargedAgainstTheMemoryCap() async throws {
        try await FullHost.with(limits: LuaLimits(memoryBytes: 64 << 20)) { h in
            let setup = "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 1000 do t[i] = s end "
            for crossing in [
                "return json.encode(t)", "return t",
                "return bedrock.converse{model='amazon.nova-micro-v1:0', messages=t}",
            ] {
                do {
                    _ = try await h.host.evaluate(setup + crossing, name: "=crossing")
                    Issue.record("\(crossing): no limit")
                } catch LuaError.limit(let kind, let message) {
                    #expect(kind == .memory, "\(crossing)")
                    #expect(message.contains("sandbox limit: memory"), "\(crossing): \(message)")
                }
            }
            // The trip is sticky: catching it does not make the run succeed.
            await #expect(throws: LuaError.self) {
                try await h.host.evaluate(setup + "local ok = pcall(json.encode, t) return ok")
            }
            // Raised as an error: the value is dropped, the message stays readable.
            do {
                _ = try await h.host.evaluate(setup + "error(t)")
            } catch LuaError.runtime(let message, let value) {
                #expect(value == nil)
                #expect(message.contains("table"))
            }
            // A few references of a string fit (each charged, one copy made).
            let fits = try await h.host.evaluate("local s = string.rep('y', 1 << 20) return json.encode({s, s, s})")
            #expect(fits.first?.stringValue?.utf8.count == 3 * (1 << 20) + 10)
            // The host stays healthy.
            #expect(try await h.host.evaluate("return 1 + 1") == [.integer(2)])
        }
    }

    @Test func valuesGoingToLuaCountAgainstTheCapToo() async throws {
        try await FullHost.with(limits: LuaLimits(memoryBytes: 16 << 20)) { h in
            let big = String(repeating: "z", count: 1 << 20)
            try await h.host.registerSync("many") { _ in [.array(Array(repeating: .string(big), count: 100))] }
            do {
                _ = try await h.host.evaluate("local ok, e = pcall(many) return ok, e")
                Issue.record("100 MiB went to Lua under a 16 MiB cap")
            } catch LuaError.limit(let kind, let message) {
                // Refused while encoding, before 100 MiB were built for the Lua state
                // (not by the state's allocator afterwards).
                #expect(kind == .memory)
                #expect(
                    message.contains(
                        "sandbox limit: memory cap of 16777216 bytes reached (the values crossing between Lua and the host"
                    ),
                    "\(message)")
            }
        }
    }

    // MARK: row 9 / item 6: log output is charged

    @Test func logLinesCountAgainstTheOutputLimitAndAreCutBeforeRedaction() async throws {
        try await FullHost.with(limits: LuaLimits(outputBytes: 1024)) { h in
            do {
                _ = try await h.host.evaluate(
                    "for i = 1, 16 do pcall(log.info, ('x'):rep(1 << 20):rep(16)) end return 'done'")
                Issue.record("no output limit")
            } catch LuaError.limit(let kind, let message) {
                #expect(kind == .output)
                #expect(message.contains("sandbox limit: output limit of 1024 bytes reached"))
            }
            #expect(h.logs.text.utf8.count < 1024)
            // Small lines still log, and a new run starts counting afresh.
            _ = try await h.host.evaluate("log.info('hello', 42)")
            #expect(h.logs.text.contains("hello 42"))
        }
        try await FullHost.with { h in
            _ = try await h.host.evaluate("log.warn(('y'):rep(1 << 20))")
            #expect(h.logs.text.utf8.count < 16 << 10)
            #expect(h.logs.text.contains("more bytes cut"))
        }
    }

    // MARK: item 2: the backstop past the deadline

    /// A synchronous host function that blocks stands for a C call that never reaches a
    /// hook check: the evaluation still ends soon after deadline + grace.
    @Test func aStuckCallEndsTheRunAfterTheGraceAndTheStateIsUnusable() async throws {
        var limits = LuaLimits(seconds: 1)
        limits.graceSeconds = 1
        try await FullHost.with(limits: limits) { h in
            try await h.host.registerSync("block") { _ in
                Thread.sleep(forTimeInterval: 30)
                return []
            }
            let outcome = try await Self.within(.seconds(15)) {
                do {
                    _ = try await h.host.evaluate("block()")
                    return "returned"
                } catch LuaError.limit(.unresponsive, let message) {
                    return message
                } catch {
                    return "other: \(error)"
                }
            }
            #expect(
                outcome?.hasPrefix("sandbox limit: the script did not stop within 1 s of its deadline") == true,
                "\(outcome ?? "still waiting after 15 s")")
            #expect(h.host.sandbox.unusable != nil)
            await #expect(throws: LuaError.limit(.unresponsive, outcome ?? "")) {
                try await h.host.evaluate("return 1")
            }
        }
    }

    @Test func aStuckCallAfterCancelEndsTheRunAfterTheGrace() async throws {
        var limits = LuaLimits(seconds: 0)
        limits.graceSeconds = 1
        try await FullHost.with(limits: limits) { h in
            let entered = LockedBox<Bool>(false)
            try await h.host.registerSync("block") { _ in
                entered.withLockedValue { $0 = true }
                Thread.sleep(forTimeInterval: 30)
                return []
            }
            let host = h.host
            Task {
                // Cancelled once the call is stuck (a loaded CI machine once cancelled
                // before the script reached it, and the run ended cleanly).
                for _ in 0..<1000 where !entered.withLockedValue({ $0 }) {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                try? await Task.sleep(for: .milliseconds(100))
                host.cancel()
            }
            let outcome = try await Self.within(.seconds(15)) {
                do {
                    _ = try await host.evaluate("block()")
                    return "returned"
                } catch LuaError.limit(.unresponsive, let message) {
                    return message
                } catch {
                    return "other: \(error)"
                }
            }
            #expect(outcome?.contains("of being interrupted") == true, "\(outcome ?? "still waiting after 15 s")")
        }
    }

    /// The scheduler's wait for a host call ends at the deadline even when the call
    /// ignores cancellation (it is left to finish in the background).
    @Test func theSchedulerDoesNotWaitForAStubbornCallPastTheDeadline() async throws {
        try await FullHost.with(limits: LuaLimits(seconds: 1)) { h in
            try await h.host.register("stubborn") { _ in
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 20) { c.resume() }
                }
                return []
            }
            for source in ["stubborn()", "parallel(stubborn, stubborn)", "race(stubborn, stubborn)"] {
                let outcome = try await Self.within(.seconds(10)) {
                    do {
                        _ = try await h.host.evaluate(source)
                        return "returned"
                    } catch {
                        return String(describing: error)
                    }
                }
                #expect(outcome?.contains("deadline") == true, "\(source): \(outcome ?? "still waiting after 10 s")")
            }
        }
    }

    /// The result of `body`, or nil when it takes longer than `limit` (a hang, not a
    /// slow machine: the limits under test are 1–2 s).
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async -> T) async throws -> T? {
        let first = FirstOf<T>()
        Task { first.offer(await body()) }
        Task {
            try? await Task.sleep(for: limit)
            first.offer(nil)
        }
        return await first.value()
    }

    // MARK: smaller: a test file cannot fake its results

    @Test func aTestFileCannotFakeItsResults() async throws {
        try await LuaTestHarness.with { h in
            // Replacing the functions the runner used to call at run time.
            let replaced = try await h.run(
                "replaced_pcall_test.lua",
                """
                test("really fails", function() error("boom") end)
                pcall = function() return true end
                ipairs = function() return function() return nil end end
                """)
            #expect(replaced.results.map(\.name) == ["really fails"])
            #expect(replaced.results.map(\.status) == [.failed])
            #expect(replaced.results.first?.message?.contains("boom") == true)
            // Replacing the runner's control table.
            let control = try await h.run(
                "fake_control_test.lua",
                """
                test("really fails", function() error("boom") end)
                __quarry_test = setmetatable({}, { __index = {
                  list = function() return { { name = "fake" } } end,
                  run = function() return { status = "passed" } end,
                } })
                """)
            #expect(control.results.map(\.name) == ["really fails"])
            #expect(control.results.map(\.status) == [.failed])
        }
    }

    @Test func aTestTimeoutIsCheckedNotTrapped() async throws {
        try await LuaTestHarness.with { h in
            let summary = try await h.run(
                "timeouts_test.lua",
                """
                test("huge", function() end, {timeout = 1e300})
                test("nan", function() end, {timeout = 0/0})
                test("fine", function() end, {timeout = 5})
                """)
            #expect(summary.results.map(\.status) == [.failed, .failed, .passed])
            #expect(summary.results.prefix(2).allSatisfy { $0.errorCode == "ValidationError" })
            #expect(
                summary.results.first?.message?.contains("'timeout' must be a finite number of seconds > 0") == true)
        }
    }

    /// Set-up code (module fields, module source) run after the last run's deadline
    /// passed gets a fresh deadline instead of failing on the stale one.
    @Test func setUpAfterADeadlinePassedStillWorks() async throws {
        try await FullHost.with(limits: LuaLimits(seconds: 1)) { h in
            #expect(try await h.host.evaluate("return 1") == [.integer(1)])
            try await Task.sleep(for: .milliseconds(1500))
            try await h.host.register("tools.late") { _ in [.string("late")] }
            // Enough work that the hooks look at the clock while it runs (every 1,000
            // instructions), little enough to end well within 1 s on a busy machine.
            try await h.host.load(
                module: "local n = 0 for i = 1, 300000 do n = n + 1 end extra = { value = 42 }", name: "=extra")
            #expect(try await h.host.evaluate("return tools.late(), extra.value") == [.string("late"), .integer(42)])
        }
    }

    // MARK: smaller: set-up code runs no script-replaced globals

    @Test func registeringIntoAModuleIgnoresReplacedGlobals() async throws {
        try await FullHost.with { h in
            try await h.host.register("tools.first") { _ in [.string("one")] }
            _ = try await h.host.evaluate(
                """
                pairs = function() error("hijacked pairs") end
                type = function() return "table" end
                pcall(function() table.concat = function() error("hijacked concat") end end)
                """)
            try await h.host.register("tools.second") { _ in [.string("two")] }
            let both = try await h.host.evaluate("return tools.first(), tools.second()")
            #expect(both == [.string("one"), .string("two")])
        }
    }
}

/// The first of two racing answers.
final class FirstOf<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var answered = false
    private var answer: T??
    private var waiter: CheckedContinuation<T?, Never>?

    func offer(_ value: T?) {
        lock.lock()
        guard !answered else { lock.unlock(); return }
        answered = true
        answer = .some(value)
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(returning: value)
    }

    func value() async -> T? {
        await withCheckedContinuation { c in
            lock.lock()
            if let answer {
                lock.unlock()
                c.resume(returning: answer)
            } else {
                waiter = c
                lock.unlock()
            }
        }
    }
}
