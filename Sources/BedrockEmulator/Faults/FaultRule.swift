import BedrockWire

/// A fault to inject, in the one shape the admin HTTP API, the Swift API and Lua's
/// `emulator.fault{…}` share.
///
/// Match: `operation`, `model`, `region`, `probability` (with `seed`); lifetime:
/// `times`, `seconds`. Effect, exactly one of: `error` (+ `retry_after_ms`),
/// `latency_ms`, `stall`, `reset`, or `stream` (`exception` | `truncate` |
/// `corrupt_crc` | `close` | `drip`, with `after_events`, `exception`, `drip_ms`).
/// A stream `exception` is a Bedrock exception (`throttlingException`, sent as a
/// modelled exception event) or an unmodelled code such as `InternalFailure` (sent as
/// a `:message-type: error` frame, as AWS's front end does).
public struct FaultRule: Sendable, Codable, Equatable {
    /// The operation to match, e.g. `Converse`; `nil` matches every operation.
    public var operation: String?
    /// The model id to match (as sent, or the model it resolves to).
    public var model: String?
    /// The signing region to match.
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
    /// Delay before the response head, in milliseconds.
    public var latencyMs: Int?
    /// Never answer (until the client gives up or the emulator stops).
    public var stall: Bool?
    /// Reset the TCP connection instead of answering.
    public var reset: Bool?
    /// A fault inside a stream.
    public var stream: String?
    /// Events sent before a stream fault takes effect.
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
    public init(operation: String? = nil, model: String? = nil, region: String? = nil,
                probability: Double? = nil, seed: UInt64? = nil, times: Int? = nil, seconds: Double? = nil,
                error: String? = nil, retryAfterMs: Int? = nil, latencyMs: Int? = nil, stall: Bool? = nil,
                reset: Bool? = nil, stream: String? = nil, afterEvents: Int? = nil, exception: String? = nil,
                dripMs: Int? = nil) {
        self.operation = operation; self.model = model; self.region = region
        self.probability = probability; self.seed = seed; self.times = times; self.seconds = seconds
        self.error = error; self.retryAfterMs = retryAfterMs; self.latencyMs = latencyMs
        self.stall = stall; self.reset = reset; self.stream = stream
        self.afterEvents = afterEvents; self.exception = exception; self.dripMs = dripMs
    }

    /// Checks the rule and returns its effect, or an error naming what is wrong.
    public func effect() throws(FaultRuleError) -> FaultEffect {
        if let operation, !EmulatedOperation.allCases.contains(where: { $0.rawValue == operation }) {
            throw FaultRuleError("unknown operation '\(operation)'; expected one of \(EmulatedOperation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let probability, !(0...1).contains(probability) {
            throw FaultRuleError("probability must be between 0 and 1, got \(probability)")
        }
        if let times, times < 1 { throw FaultRuleError("times must be at least 1, got \(times)") }
        if let seconds, !(seconds > 0) { throw FaultRuleError("seconds must be positive, got \(seconds)") }
        var effects: [FaultEffect] = []
        if let error {
            guard let code = BedrockErrorCode(wireName: error) else {
                throw FaultRuleError("unknown error '\(error)'; expected one of \(BedrockErrorCode.allCases.map(\.rawValue).joined(separator: ", "))")
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
            guard let kind = StreamFaultKind(rawValue: stream) else {
                throw FaultRuleError("unknown stream fault '\(stream)'; expected one of exception, truncate, corrupt_crc, close, drip")
            }
            if let afterEvents, afterEvents < 0 { throw FaultRuleError("after_events must not be negative") }
            var exceptionCode = BedrockErrorCode.modelStreamError
            var unmodelledCode: String?
            if let exception {
                guard kind == .exception else { throw FaultRuleError("exception only applies to stream = \"exception\"") }
                if let code = BedrockErrorCode(wireName: exception) {
                    exceptionCode = code
                } else if StreamFault.unmodelledErrorCodes.contains(exception) {
                    unmodelledCode = exception
                } else {
                    throw FaultRuleError("unknown exception '\(exception)'; expected a Bedrock exception (e.g. "
                        + "throttlingException) or an unmodelled error code sent as an error frame ("
                        + StreamFault.unmodelledErrorCodes.sorted().joined(separator: ", ") + ")")
                }
            }
            if kind == .drip {
                guard let dripMs, dripMs >= 0 else { throw FaultRuleError("stream = \"drip\" needs drip_ms ≥ 0") }
            }
            effects.append(.stream(StreamFault(kind: kind, afterEvents: afterEvents, exception: exceptionCode,
                                               dripMilliseconds: dripMs ?? 0, unmodelledErrorCode: unmodelledCode)))
        } else if afterEvents != nil || exception != nil || dripMs != nil {
            throw FaultRuleError("after_events, exception and drip_ms only apply to a stream rule")
        }
        guard effects.count == 1, let effect = effects.first else {
            throw FaultRuleError(effects.isEmpty
                ? "a fault rule needs one effect: error, latency_ms, stall, reset or stream"
                : "a fault rule takes exactly one effect, got \(effects.count)")
        }
        return effect
    }
}

/// Why a fault rule was refused.
public struct FaultRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the rule.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { "invalid fault rule: \(message)" }
}

/// What a matching fault rule does to a request.
public enum FaultEffect: Sendable, Equatable {
    /// Answer with this service error.
    case error(BedrockErrorCode, retryAfterMs: Int?)
    /// Wait before sending the response head.
    case latency(milliseconds: Int)
    /// Never answer.
    case stall
    /// Reset the connection.
    case reset
    /// Break the response stream.
    case stream(StreamFault)
}

/// The kinds of fault inside an event stream.
public enum StreamFaultKind: String, Sendable, Codable {
    /// An exception event after N events.
    case exception
    /// The body stops in the middle of a frame and the connection closes.
    case truncate
    /// A frame whose message CRC is wrong.
    case corruptCRC = "corrupt_crc"
    /// The stream ends without `messageStop`/`metadata` and the connection closes.
    case close
    /// Events arrive with a pause between each.
    case drip
}

/// A fault inside a stream.
public struct StreamFault: Sendable, Equatable {
    /// What happens.
    public var kind: StreamFaultKind
    /// Events sent normally first (`nil`: the kind's default).
    public var afterEvents: Int?
    /// The exception for `.exception`.
    public var exception: BedrockErrorCode
    /// Pause between events for `.drip`.
    public var dripMilliseconds: Int
    /// For `.exception`: an error code the service sends as an unmodelled
    /// `:message-type: error` frame (`:error-code`, `:error-message`) instead of a
    /// modelled exception event, e.g. `InternalFailure`.
    public var unmodelledErrorCode: String? = nil

    /// The unmodelled error codes AWS's front end sends mid-stream as `error` frames.
    public static let unmodelledErrorCodes: Set<String> = [
        "InternalFailure", "ServiceUnavailable", "RequestTimeout", "Throttling",
    ]

    /// The `:error-message` sent with an unmodelled error code.
    static func unmodelledErrorMessage(_ code: String) -> String {
        switch code {
        case "InternalFailure": "The request processing has failed because of an unknown error, exception or failure."
        case "ServiceUnavailable": "The request has failed due to a temporary failure of the server."
        case "RequestTimeout": "The request timed out before the service could finish the stream."
        default: "Rate exceeded"
        }
    }
}
