import BedrockRuntime
import Foundation

/// The `fault` Lua module: client-side fault injection that works against any target.
///
/// - `fault.inject{operation=, model=, region=, probability=, seed=, times=, seconds=,
///   error= | latency_ms= | stall= | reset= | timeout= | stream=, …}` → rule id
/// - `fault.remove(id)` → true when it was active
/// - `fault.clear()` removes every rule
/// - `fault.list()` → `{ {id=, hits=, rule={…}}, … }`
/// - `fault.injections()` → `{ {rule=, effect=, operation=, model=, region=, at=}, … }`
///
/// Rules act in the transport of every client the host makes, so the injector must be
/// one of the target's middlewares (`QuarryTarget.resolve(…, middlewares: [injector])`).
public struct FaultModule: QuarryModule {
    /// The injector the rules go to; nil to use the one among the target's middlewares.
    public let injector: ClientFaultInjector?

    /// A module over `injector` (or over the target's own injector when nil).
    public init(injector: ClientFaultInjector? = nil) { self.injector = injector }

    /// The client fault injector among `target`'s middlewares, if any.
    public static func injector(of target: QuarryTarget) -> ClientFaultInjector? {
        target.middlewares.lazy.compactMap { $0 as? ClientFaultInjector }.first
    }

    /// Registers `fault.*` in `host`.
    public func install(into host: QuarryHost) async throws {
        let injector = self.injector ?? Self.injector(of: host.target)
        let description = host.target.description
        @Sendable func require(_ function: String) throws -> ClientFaultInjector {
            guard let injector else {
                throw ScriptError(
                    code: .faultInjectionUnavailable,
                    message: "\(function): this host's clients have no fault injector (target: \(description)); "
                        + "run under `quarry test`, or give the target a ClientFaultInjector middleware")
            }
            return injector
        }
        try await host.registerSync("fault.inject") { args in
            let injector = try require("fault.inject")
            let rule = try FaultRuleTable.clientRule(args.first ?? .nil, function: "fault.inject")
            do {
                return [.string(try injector.add(rule))]
            } catch {
                throw ScriptError(code: .validationError, message: "fault.inject: \(error)")
            }
        }
        try await host.registerSync("fault.remove") { args in
            guard case .string(let id)? = args.first else {
                throw ScriptError(
                    code: .validationError, message: "fault.remove: expected the rule id fault.inject returned")
            }
            return [.boolean(try require("fault.remove").remove(id: id))]
        }
        try await host.registerSync("fault.clear") { _ in
            try require("fault.clear").clear()
            return []
        }
        try await host.registerSync("fault.list") { _ in
            [
                .array(
                    try require("fault.list").active.map { fault in
                        let rule = (try? JSONValueEncoder().encode(fault.rule)) ?? .null
                        return .map([
                            "id": .string(fault.id), "hits": .integer(Int64(fault.hits)),
                            "rule": LuaJSON.lua(from: rule),
                        ])
                    })
            ]
        }
        try await host.registerSync("fault.injections") { _ in
            [.array(try require("fault.injections").injections.map(Self.lua))]
        }
    }

    static func lua(_ injection: FaultInjection) -> LuaValue {
        var map: [String: LuaValue] = [
            "rule": .string(injection.ruleId), "effect": .string(injection.effect),
            "operation": .string(injection.operation), "at": .number(injection.date.timeIntervalSince1970),
        ]
        if let model = injection.model { map["model"] = .string(model) }
        if let region = injection.region { map["region"] = .string(region) }
        return .map(map)
    }
}

/// The `emulator` Lua module: server-side faults and what the emulator saw, through its
/// admin HTTP API (with the admin token, never a Bedrock credential).
///
/// - `emulator.fault{…}` → rule id (the same rule shape as `fault.inject`, less `timeout`)
/// - `emulator.remove(id)`, `emulator.clear()`, `emulator.faults()`
/// - `emulator.requests()` → what it served: `{ {operation=, model=, region=, status=, …}, … }`
/// - `emulator.clear_requests()`
/// - `emulator.respond{contains=, pattern=, model=, operation=, times=, text=|tool={name=, input=}|json=|error=, message=}`
///   → reply id: a scripted reply (see `ScriptedReply`); `emulator.clear_responses()`
///
/// Against a target that is not an emulator every function raises `NotAnEmulator`.
public struct EmulatorModule: QuarryModule {
    /// A module for the host's target.
    public init() {}

    /// Registers `emulator.*` in `host`.
    public func install(into host: QuarryHost) async throws {
        let admin = host.target.emulatorAdmin
        let description = host.target.description
        @Sendable func client(_ function: String) throws -> EmulatorAdminClient {
            guard let admin else {
                throw ScriptError(
                    code: .notAnEmulator,
                    message: "\(function) needs an emulator target, but this host targets \(description); "
                        + "use fault.inject{…} for client-side faults that work against any target")
            }
            return EmulatorAdminClient(admin)
        }
        try await host.register("emulator.fault") { args in
            let api = try client("emulator.fault")
            let members = try FaultRuleTable.members(
                args.first ?? .nil, function: "emulator.fault", allowTimeout: false)
            let body = JSONValue.object(members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            let answer = try await Self.admin("emulator.fault") { try await api.post("faults", json: body) }
            return [.string(answer["id"]?.stringValue ?? "")]
        }
        try await host.register("emulator.remove") { args in
            let api = try client("emulator.remove")
            guard case .string(let id)? = args.first, !id.isEmpty,
                id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
            else {
                throw ScriptError(
                    code: .validationError, message: "emulator.remove: expected the rule id emulator.fault returned")
            }
            do {
                _ = try await api.delete("faults/\(id)")
                return [.boolean(true)]
            } catch let e as ScriptError where e.status == 404 {
                return [.boolean(false)]
            }
        }
        try await host.register("emulator.clear") { _ in
            let api = try client("emulator.clear")
            _ = try await Self.admin("emulator.clear") { try await api.delete("faults") }
            return []
        }
        try await host.register("emulator.faults") { _ in
            let api = try client("emulator.faults")
            let answer = try await Self.admin("emulator.faults") { try await api.get("faults") }
            return [LuaJSON.lua(from: answer["faults"] ?? .array([]))]
        }
        try await host.register("emulator.requests") { _ in
            let api = try client("emulator.requests")
            let answer = try await Self.admin("emulator.requests") { try await api.get("requests") }
            return [LuaJSON.lua(from: answer["requests"] ?? .array([]))]
        }
        try await host.register("emulator.respond") { args in
            let api = try client("emulator.respond")
            guard case .map(let m)? = args.first else {
                throw ScriptError(
                    code: .validationError,
                    message:
                        "emulator.respond: expected a table {contains=…, text=…|tool={name=, input=}|json=…|error=…}")
            }
            let known: Set<String> = [
                "model", "operation", "contains", "pattern", "text", "tool", "json", "error", "message", "times",
            ]
            for key in m.keys where !known.contains(key) {
                throw ScriptError(
                    code: .validationError,
                    message:
                        "emulator.respond: unknown field '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            let body = try LuaJSON.json(from: .map(m), path: "emulator.respond")
            let answer = try await Self.admin("emulator.respond") { try await api.post("responses", json: body) }
            return [.string(answer["id"]?.stringValue ?? "")]
        }
        try await host.register("emulator.clear_responses") { _ in
            let api = try client("emulator.clear_responses")
            _ = try await Self.admin("emulator.clear_responses") { try await api.delete("responses") }
            return []
        }
        try await host.register("emulator.clear_requests") { _ in
            let api = try client("emulator.clear_requests")
            _ = try await Self.admin("emulator.clear_requests") { try await api.delete("requests") }
            return []
        }
    }

    /// Runs an admin call; errors name the function (the emulator's own message kept).
    static func admin(_ function: String, _ call: () async throws -> JSONValue) async throws -> JSONValue {
        do {
            return try await call()
        } catch let e as ScriptError {
            // The admin API answers a bad rule with 400 and a message naming the problem.
            let code: ScriptError.Code = e.status == 400 ? .validationError : e.code
            throw ScriptError(code: code, message: "\(function): \(e.message)", status: e.status)
        } catch {
            throw ScriptError(
                code: .emulatorUnreachable, message: "\(function): the emulator's admin API did not answer: \(error)")
        }
    }
}
