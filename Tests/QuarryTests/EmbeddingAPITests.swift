import BedrockEmulator  // only the stand-in for AWS; everything under test is `Quarry`'s public API
import Foundation
import HTTPTestSupport
import Logging
import Quarry
import Testing

/// Issue 24 (API): typed results and one error type, per-run settings, shared budgets,
/// the `willCall` hook, observers that can be removed, run ids, the event sequence, the
/// budget as a struct, a final `shutdown()`, model globs and the target without a silent
/// fallback — through `import Quarry` only (no `@testable`), real emulator, real Lua.
@Suite struct EmbeddingAPITests {
    // MARK: typed results and QuarryError

    private struct Product: Decodable, Equatable {
        var name: String
        var price: Double
        var tags: [String]
        var stock: Int?
    }

    @Test func evaluateDecodesTheScriptsValueIntoADecodable() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let product = try await host.evaluate(
                "return {name = 'hammer', price = 24.5, tags = {'tool', 'steel'}}",
                as: Product.self)
            #expect(product == Product(name: "hammer", price: 24.5, tags: ["tool", "steel"], stock: nil))
            #expect(try await host.evaluate("return 6 * 7", as: Int.self) == 42)
            #expect(try await host.evaluate("return {'a', 'b'}", as: [String].self) == ["a", "b"])
            await host.shutdown()
        }
    }

    @Test func aValueThatDoesNotFitIsADecodingErrorNamingThePath() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let error = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate("return {name = 'hammer', price = 'cheap', tags = {}}", as: Product.self)
            }
            #expect(error?.code == .decodingError)
            #expect(error?.message.contains("result.price") == true, "\(error?.message ?? "")")
            #expect(error?.value?["price"] == .string("cheap"))
            await host.shutdown()
        }
    }

    @Test func scriptErrorsAreQuarryErrorsWithCodeMessageLocationAndValue() async throws {
        try await Fixture.with { f in
            let host = try await f.host(policy: HostPolicy(allowedModels: [appModel]))
            // The script's own structured error keeps its code and its other fields.
            let app = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate(
                    "error({code = 'AppError', message = 'bad sku', sku = 'QX-9', retry = function() end})",
                    as: Int.self, name: "=user-script")
            }
            #expect(app?.code == "AppError")
            #expect(app?.message == "bad sku")
            #expect(app?.value?["sku"] == .string("QX-9"))
            // A plain error: RuntimeError at its file and line, readable as text.
            let plain = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate("local x = 1\nerror('boom')", as: Int.self, name: "=user-script")
            }
            #expect(plain?.code == .runtimeError)
            #expect(plain?.message == "boom")
            #expect(plain?.location == QuarryError.Location(file: "user-script", line: 2))
            #expect(plain?.localizedDescription == "RuntimeError: boom (user-script:2)")
            // A syntax error.
            let syntax = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate("return (", as: Int.self, name: "=broken")
            }
            #expect(syntax?.code == .syntaxError)
            #expect(syntax?.location?.file == "broken")
            // A host error table: its code, and where the script made the call.
            let policy = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate(
                    "\nlocal r = bedrock.converse{model = 'meta.llama3-8b-instruct-v1:0', messages = 'hi'}\nreturn r.text",
                    as: String.self, name: "=user-script")
            }
            #expect(policy?.code == .policyViolation)
            #expect(policy?.location == QuarryError.Location(file: "user-script", line: 2))
            await host.shutdown()
        }
    }

    @Test func theOlderErrorsReadWellAndConvert() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            do {
                _ = try await host.evaluate("error('boom')", name: "=user-script")
                Issue.record("no error")
            } catch {
                // Was "The operation could not be completed. (LuaSandbox.LuaError error 1.)".
                #expect(error.localizedDescription == "user-script:1: boom")
                #expect(QuarryError(error).code == .runtimeError)
            }
            let refused = ScriptError(code: .policyViolation, message: "no")
            #expect(refused.localizedDescription == "PolicyViolation: no")
            #expect(QuarryError(CancellationError()).code == .cancelled)
            await host.shutdown()
        }
    }

    // MARK: per-run settings, shared budgets, willCall, observers, run ids

    @Test func perRunLimitsApplyToThatRunOnly() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let loop = "local n = 0 for i = 1, 200000 do n = n + i end return n"
            var limits = LuaLimits()
            limits.instructions = 10_000
            let limited = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate(loop, as: Int.self, settings: RunSettings(limits: limits))
            }
            #expect(limited?.code == .limitExceeded)
            #expect(limited?.limit == .instructions)
            // The next run has the policy's limits again.
            #expect(try await host.evaluate(loop, as: Int.self) == 20_000_100_000)
            await host.shutdown()
        }
    }

    @Test func aRunsOwnTokenBudgetRefusesWhatWouldPassIt() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let call =
                "return bedrock.converse{model = '\(appModel)', messages = 'hi', inference = {max_tokens = 50}}.text"
            let refused = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate(call, as: String.self, settings: RunSettings(tokenBudget: 20))
            }
            #expect(refused?.code == .policyViolation)
            #expect(refused?.message.contains("run's token budget of 20") == true, "\(refused?.message ?? "")")
            let budget = TokenBudget(tokens: 10_000)
            let text = try await host.evaluate(call, as: String.self, settings: RunSettings(budget: budget))
            #expect(!text.isEmpty)
            #expect(budget.usage.callsUsed == 1)
            #expect(budget.usage.tokensUsed > 0)
            #expect(budget.usage.tokensReserved == 0)
            await host.shutdown()
        }
    }

    @Test func oneBudgetCapsSeveralHostsTogether() async throws {
        try await Fixture.with { f in
            let shared = TokenBudget(tokens: nil, calls: 1)
            var options = f.options()
            options.budget = shared
            let first = try await QuarryHost(target: f.target, options: options)
            let second = try await QuarryHost(target: f.target, options: options)
            let call =
                "local ok, e = pcall(bedrock.converse, {model = '\(appModel)', messages = 'hi', inference = {max_tokens = 5}}) "
                + "return ok and 'ok' or e.code .. ': ' .. e.message"
            #expect(try await first.evaluate(call, as: String.self) == "ok")
            let second1 = try await second.evaluate(call, as: String.self)
            #expect(second1 == "PolicyViolation: the shared call budget of 1 calls is used up")
            #expect(shared.usage.callsUsed == 1)
            #expect(second.budget.callsUsed == 0)
            await first.shutdown()
            await second.shutdown()
        }
    }

    @Test func willCallCanRefuseACallWithAReasonTheScriptSees() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let seen = LockedBox<[PendingCall]>([])
            host.willCall { call in
                seen.withLockedValue { $0.append(call) }
                return call.operation == "ConverseStream" ? .refuse(reason: "streaming is off for this tenant") : .allow
            }
            let values = try await host.evaluate(
                """
                local ok, e = pcall(bedrock.stream, {model = '\(appModel)', messages = 'hi'})
                local r = bedrock.converse{model = '\(appModel)', messages = 'hi', inference = {max_tokens = 5}}
                return {ok = ok, code = e.code, message = e.message, reason = e.reason, text = r.text}
                """, settings: RunSettings(runId: "run-7"))
            let result = values.first
            #expect(result?["ok"] == .boolean(false))
            #expect(result?["code"] == .string("PolicyViolation"))
            #expect(result?["message"] == .string("streaming is off for this tenant"))
            #expect(result?["reason"] == .string("streaming is off for this tenant"))
            #expect(result?["text"]?.stringValue?.isEmpty == false)
            #expect(seen.withLockedValue { $0 }.map(\.operation) == ["ConverseStream", "Converse"])
            #expect(seen.withLockedValue { $0 }.allSatisfy { $0.runId == "run-7" && $0.model == appModel })
            // Removed, the hook is asked no more.
            host.willCall(nil)
            _ = try await host.evaluate("bedrock.stream{model = '\(appModel)', messages = 'hi'}:close()")
            #expect(seen.withLockedValue { $0 }.count == 2)
            await host.shutdown()
        }
    }

    @Test func observersCanBeRemovedAndRecordsCarryTheRunId() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let kept = LockedBox<[CallRecord]>([]), removed = LockedBox<[CallRecord]>([])
            host.addCallObserver { record in kept.withLockedValue { $0.append(record) } }
            let token = host.addCallObserver { record in removed.withLockedValue { $0.append(record) } }
            let call =
                "return bedrock.converse{model = '\(appModel)', messages = 'hi', inference = {max_tokens = 5}}.text"
            _ = try await host.evaluate(call, settings: RunSettings(runId: "first"))
            host.removeCallObserver(token)
            _ = try await host.evaluate(call)
            #expect(kept.withLockedValue { $0 }.count == 2)
            #expect(removed.withLockedValue { $0 }.count == 1)
            #expect(kept.withLockedValue { $0 }.first?.runId == "first")
            // A run without an id gets a fresh one.
            let second = kept.withLockedValue { $0 }.last?.runId
            #expect(second != nil && second != "first")
            await host.shutdown()
        }
    }

    // MARK: the event sequence

    @Test func eventsArriveInOrderFromPrintToTheEnd() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            var events: [RunEvent] = []
            for try await event in host.events(
                for: """
                    print('start')
                    local s = bedrock.stream{model = '\(appModel)', messages = 'Tell me about rivers', inference = {max_tokens = 60}}
                    for _ in s do end
                    print('end')
                    return s.text
                    """, settings: RunSettings(runId: "ui"))
            {
                events.append(event)
            }
            func index(_ match: (RunEvent) -> Bool) -> Int { events.firstIndex(where: match) ?? -1 }
            let start = index { if case .output(let t) = $0 { t.hasPrefix("start") } else { false } }
            let called = index {
                if case .callStarted(let op, let model) = $0 {
                    op == "ConverseStream" && model == appModel
                } else {
                    false
                }
            }
            let text = index { if case .text = $0 { true } else { false } }
            let stop = index { if case .status(let s) = $0 { s.hasPrefix("stop: ") } else { false } }
            let ended = index {
                if case .callEnded(let r) = $0 { r.runId == "ui" && r.errorCode == nil } else { false }
            }
            let end = index { if case .output(let t) = $0 { t.hasPrefix("end") } else { false } }
            #expect(start == 0)
            #expect(start < called && called < text && text < stop && stop < ended && ended < end, "\(events)")
            guard case .finished(let values)? = events.last else {
                Issue.record("the last event is not .finished: \(events)")
                return
            }
            let streamed = events.compactMap { (event: RunEvent) -> String? in
                if case .text(let t) = event { return t }
                return nil
            }.joined()
            #expect(values == [.string(streamed)])
            await host.shutdown()
        }
    }

    @Test func aToolUseArrivesWhole() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            var tools: [(String, String)] = []
            for try await event in host.events(
                for: """
                    local request = {model = '\(appModel)', messages = 'What is the weather in Paris?',
                      tools = {{name = 'weather', schema = {type = 'object', properties = {city = {type = 'string'}}}}},
                      tool_choice = 'any'}
                    local r = bedrock.converse(request)
                    local s = bedrock.stream(request)
                    for _ in s do end
                    return r.stop_reason
                    """)
            {
                if case .toolUse(let id, let name, let input) = event {
                    #expect(!id.isEmpty)
                    tools.append((name, input))
                }
            }
            // Once whole from `converse`, once gathered from the stream's input pieces.
            #expect(tools.count == 2)
            #expect(tools.allSatisfy { $0.0 == "weather" && $0.1.contains("\"city\"") }, "\(tools)")
            await host.shutdown()
        }
    }

    @Test func aFailedRunEndsTheSequenceWithAQuarryError() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            let outputs = LockedBox(0)
            let error = await #expect(throws: QuarryError.self) {
                for try await event in host.events(for: "print('a')\nerror('stop here')", name: "=ui-script") {
                    if case .output = event { outputs.withLockedValue { $0 += 1 } }
                }
            }
            #expect(outputs.withLockedValue { $0 } >= 1)
            #expect(error?.location == QuarryError.Location(file: "ui-script", line: 2))
            await host.shutdown()
        }
    }

    // MARK: budget, shutdown, globs, target

    @Test func theBudgetIsAStruct() async throws {
        try await Fixture.with { f in
            var policy = HostPolicy()
            policy.callBudget = 5
            policy.tokenBudget = 10_000
            let host = try await f.host(policy: policy)
            _ = try await host.evaluate(
                "return bedrock.converse{model = '\(appModel)', messages = 'hi', inference = {max_tokens = 5}}.text")
            let budget = host.budget
            #expect(budget.callsUsed == 1)
            #expect(budget.callBudget == 5)
            #expect(budget.tokensUsed > 0 && budget.tokensReserved == 0)
            #expect(budget.tokensLeft == 10_000 - budget.tokensUsed)
            #expect(budget.luaValue["calls_used"] == .integer(1))
            #expect(try await host.evaluate("return bedrock.budget().calls_used") == [.integer(1)])
            await host.shutdown()
        }
    }

    @Test func shutdownIsFinal() async throws {
        try await Fixture.with { f in
            let host = try await f.host()
            #expect(try await host.evaluate("return 1") == [.integer(1)])
            await host.shutdown()
            do {
                _ = try await host.evaluate("return 1")
                Issue.record("a shut-down host ran a script")
            } catch let e as ScriptError {
                #expect(e.code == .hostShutDown)
            }
            let typed = await #expect(throws: QuarryError.self) {
                _ = try await host.evaluate("return 1", as: Int.self)
            }
            #expect(typed?.code == .hostShutDown)
        }
    }

    @Test func modelGlobsIgnoreCaseAndSeeThroughInferenceProfilePrefixes() async throws {
        try await Fixture.with { f in
            let host = try await f.host(
                policy: HostPolicy(allowedModels: ["Anthropic.Claude-3-*", "us.amazon.nova-*"]))
            let check = """
                local codes = {}
                for i, model in ipairs{...} do
                  local ok, e = pcall(bedrock.count_tokens, {model = model, messages = 'hi'})
                  codes[i] = (not ok and e.code == 'PolicyViolation') and 'refused' or 'allowed'
                end
                return codes
                """
            let models = [
                "anthropic.claude-3-haiku-20240307-v1:0", "ANTHROPIC.CLAUDE-3-haiku-20240307-v1:0",
                "us.anthropic.claude-3-haiku-20240307-v1:0", "eu.anthropic.claude-3-haiku-20240307-v1:0",
                "global.anthropic.claude-3-haiku-20240307-v1:0", "apac.anthropic.claude-3-haiku-20240307-v1:0",
                "xx.anthropic.claude-3-haiku-20240307-v1:0", "meta.llama3-8b-instruct-v1:0",
                "us.meta.llama3-8b-instruct-v1:0", "us.amazon.nova-micro-v1:0", "eu.amazon.nova-micro-v1:0",
                "amazon.nova-micro-v1:0",
            ]
            let values = try await host.evaluate(check, as: [String].self, arguments: models.map(LuaValue.string))
            #expect(
                values == [
                    "allowed", "allowed", "allowed", "allowed", "allowed", "allowed",
                    "refused", "refused", "refused", "allowed", "refused", "refused",
                ])
            await host.shutdown()
        }
    }

    @Test func resolveNeverFallsBackToAnEmulatorSilently() async throws {
        for environment in [[:], ["QUARRY_TARGET": "emulator"], ["QUARRY_TARGET": "auto"]] {
            do {
                let target = try await QuarryTarget.resolve(environment: environment)
                Issue.record("resolved \(target.description) with \(environment)")
                await target.shutdown()
            } catch let e as ScriptError {
                #expect(e.code == .configurationError)
                #expect(e.message.contains("localEmulator: .inProcess"), "\(e.message)")
            }
        }
    }
}

private let appModel = "anthropic.claude-3-haiku-20240307-v1:0"

private typealias Fixture = AppFixture

extension AppFixture {
    fileprivate func options(policy: HostPolicy = .permissive) -> QuarryHost.Options {
        QuarryHost.Options(policy: policy, output: { _ in }, errorOutput: { _ in })
    }

    fileprivate func host(policy: HostPolicy = .permissive) async throws -> QuarryHost {
        try await QuarryHost(target: target, options: options(policy: policy))
    }
}
