import BedrockWire

/// A fault the client injects into its own calls: BedrockWire's ``FaultRule`` (the
/// emulator's shape, and Lua's `fault.inject{…}`), plus the one effect only a client
/// can have.
///
/// Client-side only: `timeout = true` fails the attempt at once with a
/// `FirstByteTimeout`, as if the time-to-first-byte deadline had passed. In JSON the
/// rule's fields and `timeout` sit side by side in one object.
@dynamicMemberLookup
public struct ClientFaultRule: Sendable, Codable, Equatable {
    /// The match and the shared effects.
    public var rule: FaultRule
    /// Fail the attempt with a time-to-first-byte timeout, without waiting.
    public var timeout: Bool?

    /// A client rule: `rule`, or a `timeout` rule matching as `rule` does.
    public init(_ rule: FaultRule = FaultRule(), timeout: Bool? = nil) {
        self.rule = rule; self.timeout = timeout
    }

    /// The shared rule's fields, read and written in place (`clientRule.operation`).
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<FaultRule, Value>) -> Value {
        get { rule[keyPath: keyPath] }
        set { rule[keyPath: keyPath] = newValue }
    }

    private enum CodingKeys: String, CodingKey { case timeout }

    public init(from decoder: any Decoder) throws {
        rule = try FaultRule(from: decoder)
        timeout = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Bool.self, forKey: .timeout)
    }

    public func encode(to encoder: any Encoder) throws {
        try rule.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(timeout, forKey: .timeout)
    }

    /// Checks the rule and returns its one effect, or an error naming what is wrong.
    public func effect() throws(FaultRuleError) -> ClientFaultEffect { try validated().effect }

    /// Checks the rule and returns when it fires and its one effect.
    func validated() throws(FaultRuleError) -> (condition: FaultCondition, effect: ClientFaultEffect) {
        let (condition, shared) = try rule.validated()
        let effects = shared.map(ClientFaultEffect.fault) + (timeout == true ? [.timeout] : [])
        return (
            condition, try FaultRuleError.single(effects, names: "error, latency_ms, stall, reset, timeout or stream")
        )
    }
}

/// What a matching client fault rule does to an attempt: a shared effect, or a timeout.
public enum ClientFaultEffect: Sendable, Equatable, CustomStringConvertible {
    /// An effect both sides apply (an error is a real HTTP error response, never sent on;
    /// latency waits, then sends; a stream fault rewrites the response's frames).
    case fault(FaultEffect)
    /// Fail with a time-to-first-byte timeout.
    case timeout

    /// A short label for logs and reports: `ThrottlingException`, `latency 200ms`, `timeout`.
    public var description: String {
        switch self {
        case let .fault(effect): effect.description
        case .timeout: "timeout"
        }
    }
}
