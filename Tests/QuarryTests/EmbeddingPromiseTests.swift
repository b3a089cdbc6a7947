import BedrockEmulator  // only the stand-in for AWS; everything under test is `Quarry`'s public API
import Foundation
import Logging
import Quarry
import TestSupport
import Testing

/// Issue 24 (bugs 1–4, 7, 8 and the security points): the embedding API keeps its
/// promises, seen from an app that does `import Quarry` and nothing more (no
/// `@testable`): cancellation, re-entrancy, stream lifetimes, error values, one HTTP client
/// per target, opaque Swift errors and isolation between runs.
@Suite struct EmbeddingPromiseTests {
    // MARK: bug 1: cancelling the awaiting task is `cancel()`

    @Test func cancellingTheAwaitingTaskInterruptsABusyLoop() async throws {
        try await Fixture.with { f in
            var policy = HostPolicy()
            policy.limits.seconds = 120
            policy.limits.instructions = 1 << 40
            let host = try await f.host(policy: policy)
            let started = Signal()
            try await host.registerSync("started") { _ in
                started.fire(); return []
            }
            let run = Task { try await host.evaluate("started() while true do end", name: "=busy") }
            await started.wait()
            run.cancel()
            // Without the interrupt on this path the loop runs to the deadline and the run
            // ends with the deadline's limit error instead.
            let result = await run.result
            #expect(throws: CancellationError.self) { try result.get() }
            // The state survives for the next run.
            #expect(try await host.evaluate("return 1 + 1") == [.integer(2)])
            await host.shutdown()
        }
    }

    // MARK: bug 2: a cancel with nothing running is a no-op

    @Test func cancelWhileIdleChangesNothing() async throws {
        try await Fixture.with { f in
            var options = f.options()
            options.isolation = .session
            let host = try await QuarryHost(target: f.target, options: options)
            // A session line leaves a stream open for the next line to read.
            _ = try await host.evaluate(
                "s = bedrock.stream{model='\(appModel)', messages='Say hello', inference={max_tokens=20}}")
            host.cancel()
            host.cancel()
            try await host.register("tools.async") { _ in [.string("async")] }
            try await host.registerSync("tools.sync") { _ in [.string("sync")] }
            try await host.setGlobal("settings", .map(["mode": .string("fast")]))
            try await host.load(module: "helpers = { twice = function(x) return x * 2 end }", name: "=helpers")
            let values = try await host.evaluate(
                """
                local n = 0
                for ev in s do n = n + 1 end
                return tools.async(), tools.sync(), settings.mode, helpers.twice(21), n > 0, s.text ~= nil
                """)
            #expect(
                values == [
                    .string("async"), .string("sync"), .string("fast"), .integer(42), .boolean(true), .boolean(true),
                ])
            await host.shutdown()
        }
    }

    // MARK: bug 3: re-entrancy and waits on app code

    @Test func aRegisteredFunctionCallingItsOwnHostIsRefusedAtOnce() async throws {
        try await Fixture.with { f in
            var policy = HostPolicy()
            policy.limits.seconds = 30
            let host = try await f.host(policy: policy)
            let weakHost = WeakHost(host)
            try await host.register("again") { _ in
                guard let host = weakHost.host else { return [] }
                return try await host.evaluate("return 1")
            }
            let values = try await host.evaluate(
                """
                local ok, e = pcall(again)
                return ok, e.code, tostring(e)
                """)
            #expect(values.count == 3)
            #expect(values.first == .boolean(false))
            #expect(values.dropFirst().first == .string("Reentrancy"), "\(values)")
            // The host is free again.
            #expect(try await host.evaluate("return 'next'") == [.string("next")])
            await host.shutdown()
        }
    }

    @Test func aFunctionThatIgnoresCancellationEndsAtTheDeadline() async throws {
        try await Fixture.with { f in
            var policy = HostPolicy()
            policy.limits.seconds = 1
            let host = try await f.host(policy: policy)
            try await host.register("stuck") { _ in
                await Stubborn.wait(seconds: 4)
                return [.string("late")]
            }
            do {
                _ = try await host.evaluate("return stuck()")
                Issue.record("a run waiting on a stuck function returned")
            } catch LuaError.limit(let kind, _) {
                #expect(kind == .deadline)
            }
        }
    }

    @Test func cancelEndsAWaitOnAFunctionThatIgnoresCancellation() async throws {
        try await Fixture.with { f in
            var policy = HostPolicy()
            policy.limits.seconds = 60
            let host = try await f.host(policy: policy)
            let started = Signal()
            try await host.register("stuck") { _ in
                started.fire()
                await Stubborn.wait(seconds: 4)
                return [.string("late")]
            }
            let run = Task { try await host.evaluate("return stuck()") }
            await started.wait()
            host.cancel()
            let result = await run.result
            #expect(throws: CancellationError.self) { try result.get() }
            await host.shutdown()
        }
    }

    // MARK: bug 4: streams left open close when the run ends

    @Test func aStreamTheScriptStopsReadingIsClosedAndFreesItsSlot() async throws {
        var configuration = EmulatorConfiguration()
        configuration.latencyPerToken = .milliseconds(40)  // a stream that lasts seconds
        try await Fixture.with(configuration) { f in
            let host = try await f.host(policy: HostPolicy(maxConcurrentCalls: 1))
            let records = Records()
            host.addCallObserver(records.add)
            let first = try await host.evaluate(
                """
                local s = bedrock.stream{model='\(appModel)', messages='Tell me a long story about rivers', inference={max_tokens=400}}
                for ev in s do break end
                return 'stopped reading'
                """)
            #expect(first == [.string("stopped reading")])
            // Run 2's call needs the only slot: it gets it because run 1's stream was closed.
            let second = try await host.evaluate(
                "return bedrock.converse{model='\(appModel)', messages='hi', inference={max_tokens=5}}.text")
            #expect(second.first?.stringValue?.isEmpty == false)
            let all = await records.waitFor(2)
            let stream = all.first { $0.operation == "ConverseStream" }
            #expect(stream?.errorCode == "StreamAbandoned", "\(all)")
            #expect(all.first { $0.operation == "Converse" }?.errorCode == nil, "\(all)")
            // The emulator saw both calls, the stream's first.
            let operations = f.emulator.requests.map(\.operation)
            #expect(
                operations.firstIndex(of: "ConverseStream") ?? .max < operations.firstIndex(of: "Converse") ?? -1,
                "\(operations)")
            await host.shutdown()
        }
    }

    @Test func closedAndCancelledStreamsAreNotRecordedAsSuccesses() async throws {
        var configuration = EmulatorConfiguration()
        configuration.latencyPerToken = .milliseconds(40)
        try await Fixture.with(configuration) { f in
            let host = try await f.host()
            let records = Records()
            host.addCallObserver(records.add)
            _ = try await host.evaluate(
                """
                local s = bedrock.stream{model='\(appModel)', messages='Tell me a long story about rivers', inference={max_tokens=400}}
                s()
                s:close()
                """)
            #expect(await records.waitFor(1).first?.errorCode == "StreamClosed")
            let reading = Signal()
            try await host.registerSync("reading") { _ in
                reading.fire(); return []
            }
            let run = Task {
                try await host.evaluate(
                    """
                    local s = bedrock.stream{model='\(appModel)', messages='Tell me a long story about rivers', inference={max_tokens=400}}
                    for ev in s do reading() end
                    """)
            }
            await reading.wait()
            host.cancel()
            _ = await run.result
            let all = await records.waitFor(2)
            #expect(all.count == 2 && all[1].errorCode == "Cancelled", "\(all)")
            await host.shutdown()
        }
    }

    // MARK: bug 7: error tables and sparse results reach Swift

    @Test func errorTablesWithFunctionsAndHolesKeepTheirCode() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            do {
                _ = try await host.evaluate(
                    "error({code = 'AppError', retry = function() end, items = {[1] = 'a', [3] = 'c'}})")
                Issue.record("the script's error did not reach Swift")
            } catch LuaError.runtime(_, let value) {
                #expect(value?["code"] == .string("AppError"))
                #expect(value?["retry"] == .string("<function>"))
                #expect(value?["items"] == .map(["1": .string("a"), "3": .string("c")]))
            }
            do {
                _ = try await host.evaluate(
                    """
                    parallel(function() return 1 end, function() error({code = 'Boom'}) end, function() return 3 end)
                    """)
                Issue.record("parallel did not fail")
            } catch LuaError.runtime(_, let value) {
                #expect(value?["code"] == .string("ParallelFailure"), "\(String(describing: value))")
                #expect(value?["errors"]?["2"]?["code"] == .string("Boom"), "\(String(describing: value))")
            }
            let settled = try await host.evaluate(
                """
                return map({1, 2, 3}, function(x) if x == 2 then error({code = 'Odd'}) end return x * 10 end, {settle = true})
                """)
            #expect(settled.first == .map(["1": .integer(10), "3": .integer(30)]))
            #expect(settled.dropFirst().first?["2"]?["code"] == .string("Odd"))
            await host.shutdown()
        }
    }

    // MARK: bug 8: one HTTP client per target

    @Test func hostsOnOneTargetShareItsHTTPClient() async throws {
        try await Fixture.with { f in
            let hosts = 40
            let texts = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<hosts {
                    group.addTask {
                        let host = try await f.host()
                        let values = try await host.evaluate(
                            "return bedrock.converse{model='\(appModel)', messages='hello \(i)', inference={max_tokens=5}}.text"
                        )
                        await host.shutdown()
                        return values.first?.stringValue ?? ""
                    }
                }
                var all: [String] = []
                for try await text in group { all.append(text) }
                return all
            }
            #expect(texts.count == hosts)
            #expect(texts.allSatisfy { !$0.isEmpty })
            // One set of connection pools served every host (one per host before).
            #expect(f.target.liveHTTPTransports == 1)
        }
    }

    // MARK: security 1: Swift errors are opaque to scripts

    @Test func aSwiftErrorReachesTheScriptOnlyAsAnOpaqueHostError() async throws {
        try await Fixture.with { f in
            let output = TextSink(), errors = TextSink(), logs = TextSink()
            let host = try await QuarryHost(
                target: f.target, options: f.options(output: output, errors: errors, logs: logs))
            try await host.register("db.query") { _ in throw DatabaseFailure() }
            try await host.registerSync("db.ping") { _ in throw DatabaseFailure() }
            let values = try await host.evaluate(
                """
                local ok1, e1 = pcall(db.query, 'select 1')
                local ok2, e2 = pcall(db.ping)
                print(tostring(e1), e1.message, tostring(e2))
                stderr.write(tostring(e1) .. '\\n')
                log.warn(tostring(e2))
                return {ok = ok1 or ok2, code = e1.code, message = e1.message, text = tostring(e1), id = e1.id, code2 = e2.code}
                """)
            let value = try #require(values.first)
            #expect(value["ok"] == .boolean(false))
            #expect(value["code"] == .string("HostError"))
            #expect(value["code2"] == .string("HostError"))
            let id = try #require(value["id"]?.stringValue)
            #expect(value["text"] == .string("HostError: host function failed (id \(id))"))
            let seenByScript = "\(values) \(output.text) \(errors.text)"
            for part in DatabaseFailure.secretParts {
                #expect(!seenByScript.contains(part), "\(part) reached the script")
            }
            // The app's logger has the whole text, under the id the script saw.
            #expect(logs.text.contains(DatabaseFailure.password))
            #expect(logs.text.contains(id))
            await host.shutdown()
        }
    }

    // MARK: security 2: isolation between runs

    @Test func eachRunStartsFromThePristineEnvironment() async throws {
        try await Fixture.with { f in
            let output = TextSink()
            let host = try await QuarryHost(target: f.target, options: f.options(output: output))
            try await host.register("tools.lookup") { _ in [.string("real")] }
            try await host.load(
                module: "helpers = setmetatable({}, {__index = function(_, k) return 'default ' .. k end})",
                name: "=helpers")
            _ = try await host.evaluate(
                """
                captured = {}
                bedrock = { converse = function(req) captured[#captured + 1] = req.messages; return {text = 'fake'} end }
                print = function(...) captured[#captured + 1] = ... end
                tools = { lookup = function() return 'fake' end }
                pcall(function() string.upper = function() return 'hacked' end end)   -- read-only already
                x = 1
                helpers.extra = 'left behind'
                setmetatable(helpers, {__index = function() return 'hijacked' end, __metatable = 'mine'})
                setmetatable(_G, {__newindex = function(t, k, v) captured[#captured + 1] = v; rawset(t, k, v) end,
                                  __index = function() return 'leaked' end, __metatable = 'locked'})
                """)
            let values = try await host.evaluate(
                """
                prompt = 'the next script writes a secret prompt'
                print('printed by run 2')
                local reply = bedrock.converse{model='\(appModel)', messages=prompt, inference={max_tokens=5}}
                return reply.text ~= 'fake', tools.lookup(), string.upper('a'), x, getmetatable(_G), captured, undefined_global
                """)
            #expect(values.count == 5 || values.count == 7)
            #expect(values.first == .boolean(true), "\(values)")
            #expect(values.dropFirst().first == .string("real"))
            #expect(values.dropFirst(2).first == .string("A"))
            #expect(values.dropFirst(3).allSatisfy { $0 == .nil }, "\(values)")
            #expect(output.text.contains("printed by run 2"))
            let helpers = try await host.evaluate("return helpers.name, rawget(helpers, 'extra') == nil")
            #expect(helpers == [.string("default name"), .boolean(true)])
            await host.shutdown()
        }
    }

    /// The audit found that only tables held directly by globals were restored: a nested
    /// table of an app's module (`cfg.db`) kept a script's change for the next run.
    @Test func nestedTablesOfAModuleAreRestoredToo() async throws {
        try await Fixture.with { f in
            let host = try await QuarryHost(target: f.target, options: f.options())
            try await host.load(module: "cfg = {db = {host = 'a', ports = {1, 2}}}", name: "=cfg")
            _ = try await host.evaluate("cfg.db.host = 'evil'; cfg.db.ports[3] = 9; cfg.db.extra = {}")
            let values = try await host.evaluate("return cfg.db.host, #cfg.db.ports, cfg.db.extra")
            #expect(values.first == .string("a"), "\(values)")
            #expect(values.dropFirst().first == .integer(2), "\(values)")
            #expect(values.count < 3 || values[2] == .nil, "\(values)")
            await host.shutdown()
        }
    }

    @Test func sessionModeKeepsGlobals() async throws {
        try await Fixture.with { f in
            var options = f.options()
            options.isolation = .session
            let host = try await QuarryHost(target: f.target, options: options)
            _ = try await host.evaluate("x = 1")
            #expect(try await host.evaluate("return x") == [.integer(1)])
            await host.shutdown()
        }
    }

    @Test func registeringOverABuiltInNeedsReplacing() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            await #expect(throws: ScriptError.self) { try await host.register("bedrock.converse") { _ in [] } }
            await #expect(throws: ScriptError.self) { try await host.registerSync("print") { _ in [] } }
            await #expect(throws: ScriptError.self) { try await host.setGlobal("json", .map([:])) }
            #expect(
                try await host.evaluate("return type(bedrock.converse), type(json.encode)") == [
                    .string("function"), .string("function"),
                ])
            try await host.register("bedrock.converse", replacing: true) { _ in
                [.map(["text": .string("the app's own")])]
            }
            #expect(try await host.evaluate("return bedrock.converse{}.text") == [.string("the app's own")])
            // An app's replacement is part of the pristine environment: it outlives runs.
            #expect(try await host.evaluate("return bedrock.converse{}.text") == [.string("the app's own")])
            await host.shutdown()
        }
    }
}

// MARK: - the app's side

private let appModel = "anthropic.claude-3-haiku-20240307-v1:0"

private typealias Fixture = AppFixture

extension AppFixture {
    fileprivate func options(
        policy: HostPolicy = .permissive, output: TextSink = TextSink(), errors: TextSink = TextSink(),
        logs: TextSink = TextSink()
    ) -> QuarryHost.Options {
        QuarryHost.Options(
            policy: policy, output: output.write, errorOutput: errors.write,
            logger: Logger(label: "app.scripts") { _ in LinesLogHandler(lines: logs) })
    }

    fileprivate func host(policy: HostPolicy = .permissive) async throws -> QuarryHost {
        try await QuarryHost(target: target, options: options(policy: policy))
    }
}

private struct LinesLogHandler: LogHandler {
    let lines: TextSink
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { lines.write("\(event.level) \(event.message) \(event.metadata ?? [:])\n") }
}

/// Call records as the app's observer sees them.
private final class Records: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [CallRecord] = []
    func add(_ record: CallRecord) { lock.withLock { records.append(record) } }

    /// The records once there are at least `count` (or what there is after 20 s).
    func waitFor(_ count: Int) async -> [CallRecord] {
        for _ in 0..<2000 {
            let now = lock.withLock { records }
            if now.count >= count { return now }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return lock.withLock { records }
    }
}

/// A one-shot signal from a host function to the test.
private final class Signal: @unchecked Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream<Void>.makeStream() }
    func fire() { continuation.yield() }
    func wait() async { for await _ in stream { return } }
}

/// App code that ignores cancellation (a blocking driver call).
private enum Stubborn {
    static func wait(seconds: Double) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { c.resume() }
        }
    }
}

private final class WeakHost: @unchecked Sendable {
    weak var host: QuarryHost?
    init(_ host: QuarryHost) { self.host = host }
}

/// An app error whose text holds a secret (a connection string with its password).
private struct DatabaseFailure: Error, CustomStringConvertible {
    static let password = "Hunter2-S3cret"
    static let secretParts = [password, "postgres://", "db.internal", "orders_admin"]
    var description: String { "could not connect to postgres://orders_admin:\(Self.password)@db.internal:5432/orders" }
}
