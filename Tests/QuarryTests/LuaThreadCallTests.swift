import BedrockWire
import Foundation
import HTTPTestSupport
import LuaSandbox
import Testing

@testable import Quarry

/// A script's sequential calls run on its Lua thread (`LuaThread` as the run's task
/// executor). What must still hold, attacked through a hostile server on loopback and
/// real Lua: an answer whose decoding is heavy does not hold the run past its deadline,
/// concurrent coroutines' calls still overlap, and a run whose Lua thread is given up as
/// stuck still ends.
@Suite(.serialized) struct LuaThreadCallTests {
    static let model = "anthropic.claude-3-haiku-20240307-v1:0"

    /// A valid JSON answer of about `bytes` bytes made of `count` strings: the most
    /// decoding work a script's client accepts (its value bound is 200,000).
    static func heavyAnswer(bytes: Int, count: Int) -> [UInt8] {
        let item = "\"" + String(repeating: "x", count: max(1, bytes / count - 3)) + "\","
        var text = "{\"items\":["
        text.reserveCapacity(bytes + 64)
        for _ in 0..<count { text += item }
        text.removeLast()
        text += "]}"
        return Array(text.utf8)
    }

    static func timedRun(_ host: QuarryHost, _ source: String, seconds: Double) async -> (Double, String) {
        let start = ContinuousClock.now
        let outcome: String
        do {
            let settings = RunSettings(limits: LuaLimits(seconds: seconds))
            outcome = "ok \(try await host.evaluate(source, settings: settings))"
        } catch {
            outcome = "error \(error)"
        }
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, outcome)
    }

    @Test("a 15 MiB answer heavy to decode does not hold a 0.5 s run past its deadline")
    func heavyAnswerDoesNotHoldTheDeadline() async throws {
        let body = Self.heavyAnswer(bytes: 15 << 20, count: 95_000)
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
        defer { Task { await server.shutdown() } }
        var policy = HostPolicy()
        policy.limits.memoryBytes = 64 << 20
        let host = try await QuarryHost(
            target: QuarryTarget.emulator(url: server.endpoint, adminToken: "unused"), options: .init(policy: policy))
        let (elapsed, outcome) = await Self.timedRun(
            host,
            """
            local n = 0
            while true do
              local r = bedrock.invoke{model = '\(Self.model)', body = {}}
              n = n + #r.body
            end
            """, seconds: 0.5)
        await host.shutdown()
        #expect(outcome.contains("deadline"), "\(outcome)")
        // Decoded on the Lua thread, one answer held the run 0.07–0.6 s past its deadline
        // in a debug build; decoded on the pool, the run ends within 0.02 s of it.
        #expect(elapsed < 1.0, "the run came back after \(elapsed) s")
    }

    /// A host whose script calls go to `server`, with a `seconds` deadline per run.
    static func withServer(
        _ action: @escaping @Sendable (Int) -> ServerAction,
        _ body: (QuarryHost, ScriptedHTTPServer) async throws -> Void
    ) async throws {
        let count = LockedBox(0)
        let server = try await ScriptedHTTPServer.start { _, _ in
            action(
                count.withLockedValue { n in
                    n += 1; return n
                })
        }
        let host = try await QuarryHost(target: QuarryTarget.emulator(url: server.endpoint, adminToken: "unused"))
        do {
            try await body(host, server)
        } catch {
            await host.shutdown()
            await server.shutdown()
            throw error
        }
        await host.shutdown()
        await server.shutdown()
    }

    static let okAnswer = ServerAction.respond(
        status: 200, headers: [("Content-Type", "application/json")], body: Array(#"{"ok":true}"#.utf8))

    static let invoke = "bedrock.invoke{model = '\(model)', body = {}}"

    @Test("an answer declaring more than the body cap is refused, its connection closed, and the next call works")
    func oversizedAnswerClosesItsConnection() async throws {
        try await Self.withServer({ n in
            n == 1
                ? .stream(
                    status: 200,
                    headers: [("Content-Type", "application/json"), ("Content-Length", String(40 << 20))],
                    parts: [(.zero, Array(repeating: UInt8(ascii: " "), count: 1000))], ending: .stall)
                : Self.okAnswer
        }) { host, server in
            let values = try await host.evaluate(
                """
                local ok, e = pcall(function() return \(Self.invoke) end)
                local r = \(Self.invoke)
                return e.code, r.json.ok
                """)
            #expect(values.first?.stringValue == "ResponseTooLarge", "\(values)")
            #expect(values.dropFirst().first == .boolean(true), "\(values)")
            // The refused answer's connection is closed, not left leased and reading.
            var closed = server.closedConnections
            for _ in 0..<100 where closed == 0 {
                try await Task.sleep(for: .milliseconds(20))
                closed = server.closedConnections
            }
            #expect(closed >= 1, "the refused answer's connection stayed open")
        }
    }

    @Test("a body that stalls half-way trips the call's idle timeout")
    func stalledBodyTripsIdleTimeout() async throws {
        try await Self.withServer({ _ in
            .stream(
                status: 200, headers: [("Content-Type", "application/json"), ("Content-Length", "1000")],
                parts: [(.zero, Array(repeating: UInt8(ascii: " "), count: 100))], ending: .stall)
        }) { host, _ in
            let start = ContinuousClock.now
            let values = try await host.evaluate(
                """
                local ok, e = pcall(bedrock.invoke, {model = '\(Self.model)', body = {}, idle_timeout = 0.3})
                return e.code, e.detail
                """)
            #expect(values.first?.stringValue == "Timeout", "\(values)")
            #expect(values.dropFirst().first?.stringValue == "IdleTimeout", "\(values)")
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test("a connection reset half-way through the body fails the attempt, which is retried")
    func resetMidBody() async throws {
        try await Self.withServer({ n in
            n == 1
                ? .stream(
                    status: 200, headers: [("Content-Type", "application/json"), ("Content-Length", "1000")],
                    parts: [(.zero, Array(repeating: UInt8(ascii: " "), count: 100))], ending: .reset)
                : Self.okAnswer
        }) { host, _ in
            let values = try await host.evaluate(
                """
                local r = \(Self.invoke)
                return r.attempts, r.attempt_log[1].code, r.json.ok
                """)
            // The cut answer is the first attempt's failure (retried), never a short success.
            #expect(values.first == .integer(2), "\(values)")
            #expect(values.count == 3 && values[1].stringValue?.isEmpty == false, "\(values)")
            #expect(values.last == .boolean(true), "\(values)")
        }
    }

    @Test("cancel() during an endless body ends the run at once")
    func cancelDuringEndlessBody() async throws {
        try await Self.withServer({ _ in
            .endless(
                status: 200, headers: [("Content-Type", "application/json")], chunk: [UInt8(ascii: " ")],
                gap: .milliseconds(5))
        }) { host, _ in
            let run = Task { try await host.evaluate(Self.invoke) }
            try await Task.sleep(for: .milliseconds(300))
            let start = ContinuousClock.now
            host.cancel()
            let outcome = await run.result
            #expect(ContinuousClock.now - start < .seconds(2))
            if case .success(let values) = outcome { Issue.record("the run finished: \(values)") }
        }
    }

    @Test("an endless answer at full speed is refused at the body cap, within the sandbox's memory")
    func endlessAnswerStopsAtTheCap() async throws {
        try await Self.withServer({ _ in
            .endless(
                status: 200, headers: [("Content-Type", "application/json")],
                chunk: Array(repeating: UInt8(ascii: " "), count: 64 << 10), gap: .zero)
        }) { host, _ in
            let values = try await host.evaluate(
                """
                local ok, e = pcall(function() return \(Self.invoke) end)
                return e.code, e.message
                """)
            #expect(values.first?.stringValue == "ResponseTooLarge", "\(values)")
        }
    }

    @Test("a request's measure counts the bytes of object keys, where a request can carry its bulk")
    func requestMeasureCountsKeys() {
        let key = String(repeating: "k", count: 100_000)
        let measure = TokenEstimate.converseMeasure(.object([(key, .integer(1))]))
        #expect(measure.bytes >= 100_000)
        #expect(measure.bytes > BedrockBindings.lightRequestBytes)
    }

    @Test("a 15 MB request of control bytes does not hold a 1 s run past its deadline")
    func largeRequestDoesNotHoldTheDeadline() async throws {
        try await Self.withServer({ _ in Self.okAnswer }) { host, _ in
            // Escaped, each byte becomes six: encoding and signing such a request is the
            // call's own heavy work, kept off the script's thread.
            let (elapsed, outcome) = await Self.timedRun(
                host,
                """
                local big = string.rep("\\1", 5000000)
                while true do
                  pcall(bedrock.converse, {model = '\(Self.model)', messages = {{role = 'user', content = {{text = big}, {text = big}, {text = big}}}}})
                end
                """, seconds: 1)
            #expect(outcome.contains("deadline"), "\(outcome)")
            #expect(elapsed < 2.0, "the run came back after \(elapsed) s")
        }
    }

    @Test("an audit log locked by another process does not hold a 1 s run past its deadline")
    func lockedAuditLogDoesNotHoldTheDeadline() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lx-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.jsonl")
        let server = try await ScriptedHTTPServer.start { _, _ in Self.okAnswer }
        defer { Task { await server.shutdown() } }
        var options = QuarryHost.Options()
        options.audit = try AuditLog(file: file)
        let host = try await QuarryHost(
            target: QuarryTarget.emulator(url: server.endpoint, adminToken: "unused"), options: options)
        // Another holder of the log's lock (as a second quarry process sharing it would be).
        let fd = open(file.path, O_RDWR)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_EX) == 0)
        // Released after 6 s whatever happens, so a regression fails instead of hanging.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 6)
            flock(fd, LOCK_UN)
            close(fd)
        }
        let (elapsed, outcome) = await Self.timedRun(
            host, "\(Self.invoke)\nwhile true do end", seconds: 1)
        await host.shutdown()
        #expect(outcome.contains("deadline"), "\(outcome)")
        // Within 1.0–1.1 s alone; up to 3 s after the suite's heavy tests (their
        // abandoned encoding still holds a pool thread). Held by the lock: 6 s.
        #expect(elapsed < 4.0, "the run came back after \(elapsed) s")
    }

    @Test("a call after the target shut down fails, not at the run's deadline")
    func callAfterShutdownFailsAtOnce() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in Self.okAnswer }
        defer { Task { await server.shutdown() } }
        let target = try QuarryTarget.emulator(url: server.endpoint, adminToken: "unused")
        let host = try await QuarryHost(target: target)
        _ = try await host.evaluate(Self.invoke)
        await target.shutdown()
        let (elapsed, outcome) = await Self.timedRun(
            host, "local ok, e = pcall(function() return \(Self.invoke) end); return ok, e.code, e.message",
            seconds: 10)
        await host.shutdown()
        #expect(outcome.hasPrefix("ok [LuaSandbox.LuaValue.boolean(false)"), "\(outcome)")
        #expect(elapsed < 8, "the call came back after \(elapsed) s: \(outcome)")
    }
}
