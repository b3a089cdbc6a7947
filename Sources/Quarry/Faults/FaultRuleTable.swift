import BedrockRuntime

/// Reads a fault rule from the Lua table scripts pass to `fault.inject{…}` and
/// `emulator.fault{…}`: one shape for both, checked key by key so a typo is an error
/// naming the key instead of a rule that silently never fires.
enum FaultRuleTable {
    /// Keys with string values.
    static let stringKeys: Set<String> = ["operation", "model", "region", "error", "stream", "exception"]
    /// Keys with whole-number values.
    static let integerKeys: Set<String> = ["seed", "times", "retry_after_ms", "latency_ms", "after_events", "drip_ms"]
    /// The range of each whole-number key: milliseconds up to a day, counts up to 10^9, so
    /// no value a script gives can overflow a clock or a counter on either side.
    static let integerRanges: [String: ClosedRange<Int64>] = [
        "seed": 0...Int64.max, "times": 1...1_000_000_000, "after_events": 0...1_000_000_000,
        "retry_after_ms": 0...86_400_000, "latency_ms": 0...86_400_000, "drip_ms": 0...86_400_000,
    ]
    /// Keys with number values.
    static let numberKeys: Set<String> = ["probability", "seconds"]
    /// Keys with boolean values (`timeout` is client-side only).
    static let booleanKeys: Set<String> = ["stall", "reset", "timeout"]

    /// The table as JSON members, checked; `function` names the caller in errors.
    static func members(_ value: LuaValue, function: String, allowTimeout: Bool) throws(ScriptError) -> [String:
        JSONValue]
    {
        let map: [String: LuaValue]
        switch value {
        case .map(let m): map = m
        case .tagged(_, .map(let m)): map = m
        default:
            throw ScriptError(
                code: .validationError,
                message:
                    "\(function): expected a rule table such as {operation=\"Converse\", error=\"ThrottlingException\", times=2}"
            )
        }
        var out: [String: JSONValue] = [:]
        for (key, item) in map {
            func bad(_ wanted: String) -> ScriptError {
                ScriptError(code: .validationError, message: "\(function): '\(key)' must be \(wanted)")
            }
            if key == "timeout", !allowTimeout {
                throw ScriptError(
                    code: .validationError,
                    message:
                        "\(function): 'timeout' is a client-side fault (fault.inject); the emulator's equivalent is stall = true"
                )
            }
            if stringKeys.contains(key) {
                guard case .string(let s) = item else { throw bad("a string") }
                out[key] = .string(s)
            } else if integerKeys.contains(key) {
                let range = integerRanges[key] ?? 0...ScriptNumber.maxCount
                out[key] = .integer(Int64(try ScriptNumber.count(item, function: function, field: key, in: range)))
            } else if numberKeys.contains(key) {
                if key == "seconds" {
                    out[key] = .double(try ScriptNumber.seconds(item, function: function, field: key, positive: true))
                } else {
                    out[key] = .double(try ScriptNumber.number(item, function: function, field: key, in: 0...1))
                }
            } else if booleanKeys.contains(key) {
                guard case .boolean(let b) = item else { throw bad("true or false") }
                out[key] = .bool(b)
            } else {
                let known = (stringKeys.union(integerKeys).union(numberKeys).union(booleanKeys))
                    .subtracting(allowTimeout ? [] : ["timeout"]).sorted()
                throw ScriptError(
                    code: .validationError,
                    message: "\(function): unknown field '\(key)'; a rule takes \(known.joined(separator: ", "))")
            }
        }
        if case .integer(let seed)? = out["seed"], seed < 0 {
            throw ScriptError(code: .validationError, message: "\(function): 'seed' must not be negative")
        }
        return out
    }

    /// The client rule for `value`, validated.
    static func clientRule(_ value: LuaValue, function: String) throws(ScriptError) -> ClientFaultRule {
        let m = try members(value, function: function, allowTimeout: true)
        func string(_ k: String) -> String? { if case .string(let s)? = m[k] { s } else { nil } }
        func int(_ k: String) -> Int? { if case .integer(let i)? = m[k] { Int(i) } else { nil } }
        func double(_ k: String) -> Double? { if case .double(let d)? = m[k] { d } else { nil } }
        func bool(_ k: String) -> Bool? { if case .bool(let b)? = m[k] { b } else { nil } }
        let rule = ClientFaultRule(
            FaultRule(
                operation: string("operation"), model: string("model"), region: string("region"),
                probability: double("probability"), seed: int("seed").map { UInt64($0) }, times: int("times"),
                seconds: double("seconds"), error: string("error"), retryAfterMs: int("retry_after_ms"),
                latencyMs: int("latency_ms"), stall: bool("stall"), reset: bool("reset"),
                stream: string("stream"), afterEvents: int("after_events"), exception: string("exception"),
                dripMs: int("drip_ms")),
            timeout: bool("timeout"))
        do {
            _ = try rule.effect()
        } catch {
            throw ScriptError(code: .validationError, message: "\(function): \(error.description)")
        }
        return rule
    }
}
