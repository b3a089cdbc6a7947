/// A fault to inject, in the one shape the emulator's admin API, the client's fault
/// injector, the Swift APIs and Lua's `emulator.fault{…}`/`fault.inject{…}` share.
///
/// Match: `operation`, `model`, `region`, `probability` (with `seed`); lifetime:
/// `times`, `seconds`. Effect, exactly one of: `error` (+ `retry_after_ms`),
/// `latency_ms`, `stall`, `reset`, or `stream` (`exception` | `truncate` |
/// `corrupt_crc` | `close` | `drip`, with `after_events`, `exception`, `drip_ms`).
/// A stream `exception` is a Bedrock exception (`throttlingException`, sent as a
/// modelled exception event) or an unmodelled code such as `InternalFailure` (sent as
/// a `:message-type: error` frame, as AWS's front end does).
///
/// The fields hold the rule as written (its JSON form); ``validated()`` checks them
/// and turns them into a typed ``FaultCondition`` and effects.
public struct FaultRule: Sendable, Codable, Equatable {
    /// The operation to match, e.g. `Converse` (a ``BedrockOperation``); `nil` matches every operation.
    public var operation: String?
    /// The model id to match (as sent, or the model it resolves to).
    public var model: String?
    /// The region to match (the signing region, or the endpoint's region).
    public var region: String?
    /// Chance in 0...1 that a matching request is hit (default 1).
    public var probability: Double?
    /// Seed for the probability draws, so runs repeat.
    public var seed: UInt64?
    /// How many requests the rule hits before it expires.
    public var times: Int?
    /// How long the rule lives, from when it is added.
    public var seconds: Double?
    /// A service error name, e.g. `ThrottlingException`.
    public var error: String?
    /// `x-amz-retry-after` for `error`, in milliseconds.
    public var retryAfterMs: Int?
    /// Delay before the request is answered, in milliseconds.
    public var latencyMs: Int?
    /// Never answer (until the client gives up).
    public var stall: Bool?
    /// Reset the connection instead of answering.
    public var reset: Bool?
    /// A fault inside a response stream (a ``StreamFaultKind``).
    public var stream: String?
    /// Events passed through before a stream fault takes effect.
    public var afterEvents: Int?
    /// The exception a `stream = "exception"` fault sends (name or member name).
    public var exception: String?
    /// Pause between events for `stream = "drip"`, in milliseconds.
    public var dripMs: Int?

    enum CodingKeys: String, CodingKey {
        case operation, model, region, probability, seed, times, seconds, error
        case retryAfterMs = "retry_after_ms"
        case latencyMs = "latency_ms"
        case stall, reset, stream
        case afterEvents = "after_events"
        case exception
        case dripMs = "drip_ms"
    }

    /// A rule; set the match and exactly one effect.
    public init(
        operation: String? = nil, model: String? = nil, region: String? = nil,
        probability: Double? = nil, seed: UInt64? = nil, times: Int? = nil, seconds: Double? = nil,
        error: String? = nil, retryAfterMs: Int? = nil, latencyMs: Int? = nil, stall: Bool? = nil,
        reset: Bool? = nil, stream: String? = nil, afterEvents: Int? = nil, exception: String? = nil,
        dripMs: Int? = nil
    ) {
        self.operation = operation; self.model = model; self.region = region
        self.probability = probability; self.seed = seed; self.times = times; self.seconds = seconds
        self.error = error; self.retryAfterMs = retryAfterMs; self.latencyMs = latencyMs
        self.stall = stall; self.reset = reset; self.stream = stream
        self.afterEvents = afterEvents; self.exception = exception; self.dripMs = dripMs
    }

    /// The longest lifetime `seconds` may give (a year), checked before it becomes a
    /// `Duration` (`Int64(1e300 * 1000)` traps).
    public static let maxSeconds: Double = 31_536_000

    /// Checks the rule and returns its one effect, or an error naming what is wrong.
    public func effect() throws(FaultRuleError) -> FaultEffect {
        try FaultRuleError.single(validated().effects, names: "error, latency_ms, stall, reset or stream")
    }

    /// Checks every field and returns when the rule fires and the effects it names
    /// (none, one or more: the caller, which may add effects of its own, insists on one).
    public func validated() throws(FaultRuleError) -> (condition: FaultCondition, effects: [FaultEffect]) {
        var condition = FaultCondition(model: model, region: region, probability: probability, seed: seed, times: times)
        if let operation {
            guard let known = BedrockOperation(rawValue: operation) else {
                throw FaultRuleError(
                    "unknown operation '\(operation)'; expected one of "
                        + BedrockOperation.allCases.map(\.rawValue).joined(separator: ", "))
            }
            condition.operation = known
        }
        if let probability, !(0...1).contains(probability) {
            throw FaultRuleError("probability must be between 0 and 1, got \(probability)")
        }
        if let times, times < 1 { throw FaultRuleError("times must be at least 1, got \(times)") }
        if let seconds {
            guard seconds > 0, seconds <= Self.maxSeconds else {
                throw FaultRuleError(
                    "seconds must be positive and at most \(Int(Self.maxSeconds)) (a year), got \(seconds)")
            }
            condition.lifetime = .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
        var effects: [FaultEffect] = []
        if let error {
            guard let code = BedrockErrorCode(wireName: error) else {
                throw FaultRuleError(
                    "unknown error '\(error)'; expected one of "
                        + BedrockErrorCode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if let retryAfterMs, retryAfterMs < 0 { throw FaultRuleError("retry_after_ms must not be negative") }
            effects.append(.error(code, retryAfterMs: retryAfterMs))
        } else if retryAfterMs != nil {
            throw FaultRuleError("retry_after_ms only applies to an error rule")
        }
        if let latencyMs {
            guard latencyMs >= 0 else { throw FaultRuleError("latency_ms must not be negative, got \(latencyMs)") }
            effects.append(.latency(milliseconds: latencyMs))
        }
        if stall == true { effects.append(.stall) }
        if reset == true { effects.append(.reset) }
        if let stream {
            effects.append(.stream(try streamFault(stream, operation: condition.operation)))
            condition.streamingOnly = true
        } else if afterEvents != nil || exception != nil || dripMs != nil {
            throw FaultRuleError("after_events, exception and drip_ms only apply to a stream rule")
        }
        return (condition, effects)
    }

    /// The stream fault `stream` names, with `after_events`, `exception` and `drip_ms` checked.
    private func streamFault(_ stream: String, operation: BedrockOperation?) throws(FaultRuleError) -> StreamFault {
        guard let kind = StreamFaultKind(rawValue: stream) else {
            throw FaultRuleError(
                "unknown stream fault '\(stream)'; expected one of "
                    + StreamFaultKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let operation, !operation.isStreaming {
            throw FaultRuleError("stream faults only apply to streaming operations, not \(operation.rawValue)")
        }
        if let afterEvents, afterEvents < 0 { throw FaultRuleError("after_events must not be negative") }
        var fault = StreamFault(kind: kind, afterEvents: afterEvents)
        if let exception {
            guard kind == .exception else { throw FaultRuleError("exception only applies to stream = \"exception\"") }
            if let code = BedrockErrorCode(wireName: exception) {
                fault.exception = code
            } else if StreamFault.unmodelledErrorCodes.contains(exception) {
                fault.unmodelledErrorCode = exception
            } else {
                throw FaultRuleError(
                    "unknown exception '\(exception)'; expected a Bedrock exception (e.g. "
                        + "throttlingException) or an unmodelled error code sent as an error frame ("
                        + StreamFault.unmodelledErrorCodes.sorted().joined(separator: ", ") + ")")
            }
        }
        if kind == .drip {
            guard let dripMs, dripMs >= 0 else { throw FaultRuleError("stream = \"drip\" needs drip_ms ≥ 0") }
            fault.dripMilliseconds = dripMs
        } else if dripMs != nil {
            throw FaultRuleError("drip_ms only applies to stream = \"drip\"")
        }
        return fault
    }
}

/// Why a fault rule (or a scripted reply, which shares its matching fields) was refused.
public struct FaultRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the rule.
    public let message: String
    /// What was refused, as the description names it: "fault rule" or "scripted reply".
    public let subject: String
    /// An error with `message` about a fault rule, or about another `subject`.
    public init(_ message: String, subject: String = "fault rule") {
        self.message = message
        self.subject = subject
    }
    public var description: String { "invalid \(subject): \(message)" }

    /// The one effect in `effects`, or an error: `names` lists the effects a rule may take.
    public static func single<Effect>(_ effects: [Effect], names: String) throws(FaultRuleError) -> Effect {
        guard effects.count == 1, let effect = effects.first else {
            throw FaultRuleError(
                effects.isEmpty
                    ? "a fault rule needs one effect: \(names)"
                    : "a fault rule takes exactly one effect, got \(effects.count)")
        }
        return effect
    }
}

/// What a matching fault rule does to a request.
public enum FaultEffect: Sendable, Equatable, CustomStringConvertible {
    /// Answer with this service error.
    case error(BedrockErrorCode, retryAfterMs: Int?)
    /// Wait before answering.
    case latency(milliseconds: Int)
    /// Never answer.
    case stall
    /// Reset the connection.
    case reset
    /// Break the response stream.
    case stream(StreamFault)

    /// A short label for logs and reports: `ThrottlingException`, `latency 200ms`, `stream exception`.
    public var description: String {
        switch self {
        case let .error(code, _): code.rawValue
        case let .latency(ms): "latency \(ms)ms"
        case .stall: "stall"
        case .reset: "reset"
        case let .stream(fault): "stream \(fault.kind.rawValue)"
        }
    }
}

extension BedrockErrorCode {
    /// The kind of message the service sends with this error: the text of an injected one.
    public var serviceMessage: String {
        switch self {
        case .throttling: "Too many requests, please wait before trying again."
        case .modelNotReady: "Model is not ready for inference. Wait and try your request again."
        case .serviceUnavailable: "Bedrock is unable to process your request."
        case .internalServer: "The server encountered an internal error while processing the request."
        case .serviceQuotaExceeded: "Your request exceeds the service quota for your account."
        case .validation: "The input fails to satisfy the constraints specified by the service."
        case .accessDenied: "You don't have access to the model with the specified model ID."
        case .resourceNotFound: "The requested resource could not be found."
        case .modelTimeout: "Model has timed out in processing the request. Try your request again."
        case .modelError: "The model returned an error while processing the request."
        case .modelStreamError: "The model returned an error in the middle of the stream."
        case .conflict: "The request conflicts with the current state of the resource."
        }
    }
}
