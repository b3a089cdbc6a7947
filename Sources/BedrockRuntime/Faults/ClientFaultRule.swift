import BedrockWire

/// A fault the client injects into its own calls, in the same shape as the emulator's
/// `FaultRule` (and Lua's `fault.inject{…}`), so one rule reads the same on either side.
///
/// Match: `operation`, `model`, `region`, `probability` (with `seed`); lifetime:
/// `times`, `seconds`. Effect, exactly one of: `error` (+ `retry_after_ms`),
/// `latency_ms`, `stall`, `reset`, `timeout`, or `stream` (`exception` | `truncate` |
/// `corrupt_crc` | `close` | `drip`, with `after_events`, `exception`, `drip_ms`).
///
/// Client-side only: `timeout = true` fails the attempt at once with a
/// `FirstByteTimeout`, as if the time-to-first-byte deadline had passed.
public struct ClientFaultRule: Sendable, Codable, Equatable {
    /// The operation to match, e.g. `Converse`; `nil` matches every operation.
    public var operation: String?
    /// The model id to match, as it appears in the request path (decoded).
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
    /// Delay before the request is sent, in milliseconds.
    public var latencyMs: Int?
    /// Never answer (the client's own deadlines end the attempt).
    public var stall: Bool?
    /// Fail the attempt with a connection reset, without sending it.
    public var reset: Bool?
    /// Fail the attempt with a time-to-first-byte timeout, without waiting.
    public var timeout: Bool?
    /// A fault inside a response stream.
    public var stream: String?
    /// Events passed through before a stream fault takes effect.
    public var afterEvents: Int?
    /// The exception a `stream = "exception"` fault sends (name or member name).
    public var exception: String?
    /// Pause before each event for `stream = "drip"`, in milliseconds.
    public var dripMs: Int?

    enum CodingKeys: String, CodingKey {
        case operation, model, region, probability, seed, times, seconds, error
        case retryAfterMs = "retry_after_ms"
        case latencyMs = "latency_ms"
        case stall, reset, timeout, stream
        case afterEvents = "after_events"
        case exception
        case dripMs = "drip_ms"
    }

    /// A rule; set the match and exactly one effect.
    public init(operation: String? = nil, model: String? = nil, region: String? = nil,
                probability: Double? = nil, seed: UInt64? = nil, times: Int? = nil, seconds: Double? = nil,
                error: String? = nil, retryAfterMs: Int? = nil, latencyMs: Int? = nil, stall: Bool? = nil,
                reset: Bool? = nil, timeout: Bool? = nil, stream: String? = nil, afterEvents: Int? = nil,
                exception: String? = nil, dripMs: Int? = nil) {
        self.operation = operation; self.model = model; self.region = region
        self.probability = probability; self.seed = seed; self.times = times; self.seconds = seconds
        self.error = error; self.retryAfterMs = retryAfterMs; self.latencyMs = latencyMs
        self.stall = stall; self.reset = reset; self.timeout = timeout; self.stream = stream
        self.afterEvents = afterEvents; self.exception = exception; self.dripMs = dripMs
    }

    /// The operations a rule may name.
    public static let operations = [
        "Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream",
        "InvokeModelWithBidirectionalStream", "CountTokens", "ApplyGuardrail", "InvokeGuardrailChecks",
        "StartAsyncInvoke", "GetAsyncInvoke", "ListAsyncInvokes",
    ]

    /// Operations whose answer is an event stream (the only ones stream faults hit).
    public static let streamingOperations: Set<String> = [
        "ConverseStream", "InvokeModelWithResponseStream", "InvokeModelWithBidirectionalStream",
    ]

    /// Checks the rule and returns its effect, or an error naming what is wrong.
    public func effect() throws(ClientFaultRuleError) -> ClientFaultEffect {
        if let operation, !Self.operations.contains(operation) {
            throw ClientFaultRuleError("unknown operation '\(operation)'; expected one of \(Self.operations.joined(separator: ", "))")
        }
        if let probability, !(0...1).contains(probability) {
            throw ClientFaultRuleError("probability must be between 0 and 1, got \(probability)")
        }
        if let times, times < 1 { throw ClientFaultRuleError("times must be at least 1, got \(times)") }
        // Checked before it becomes a Duration: `Int64(1e300 * 1000)` traps.
        if let seconds, !(seconds > 0 && seconds <= 31_536_000) {
            throw ClientFaultRuleError("seconds must be positive and at most 31536000 (a year), got \(seconds)")
        }
        var effects: [ClientFaultEffect] = []
        if let error {
            guard let code = BedrockErrorCode(wireName: error) else {
                throw ClientFaultRuleError("unknown error '\(error)'; expected one of \(BedrockErrorCode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let retryAfterMs, retryAfterMs < 0 { throw ClientFaultRuleError("retry_after_ms must not be negative") }
            effects.append(.error(code, retryAfterMs: retryAfterMs))
        } else if retryAfterMs != nil {
            throw ClientFaultRuleError("retry_after_ms only applies to an error rule")
        }
        if let latencyMs {
            guard latencyMs >= 0 else { throw ClientFaultRuleError("latency_ms must not be negative, got \(latencyMs)") }
            effects.append(.latency(milliseconds: latencyMs))
        }
        if stall == true { effects.append(.stall) }
        if reset == true { effects.append(.reset) }
        if timeout == true { effects.append(.timeout) }
        if let stream {
            guard let kind = ClientStreamFault.Kind(rawValue: stream) else {
                throw ClientFaultRuleError("unknown stream fault '\(stream)'; expected one of exception, truncate, corrupt_crc, close, drip")
            }
            if let operation, !Self.streamingOperations.contains(operation) {
                throw ClientFaultRuleError("stream faults only apply to streaming operations, not \(operation)")
            }
            if let afterEvents, afterEvents < 0 { throw ClientFaultRuleError("after_events must not be negative") }
            var exceptionCode = BedrockErrorCode.modelStreamError
            if let exception {
                guard kind == .exception else { throw ClientFaultRuleError("exception only applies to stream = \"exception\"") }
                guard let code = BedrockErrorCode(wireName: exception) else {
                    throw ClientFaultRuleError("unknown exception '\(exception)'")
                }
                exceptionCode = code
            }
            if kind == .drip {
                guard let dripMs, dripMs >= 0 else { throw ClientFaultRuleError("stream = \"drip\" needs drip_ms ≥ 0") }
            } else if dripMs != nil {
                throw ClientFaultRuleError("drip_ms only applies to stream = \"drip\"")
            }
            effects.append(.stream(ClientStreamFault(kind: kind, afterEvents: afterEvents, exception: exceptionCode,
                                                     dripMilliseconds: dripMs ?? 0)))
        } else if afterEvents != nil || exception != nil || dripMs != nil {
            throw ClientFaultRuleError("after_events, exception and drip_ms only apply to a stream rule")
        }
        guard effects.count == 1, let effect = effects.first else {
            throw ClientFaultRuleError(effects.isEmpty
                ? "a fault rule needs one effect: error, latency_ms, stall, reset, timeout or stream"
                : "a fault rule takes exactly one effect, got \(effects.count)")
        }
        return effect
    }
}

/// Why a client fault rule was refused.
public struct ClientFaultRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the rule.
    public let message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { "invalid fault rule: \(message)" }
}

/// What a matching client fault rule does to an attempt.
public enum ClientFaultEffect: Sendable, Equatable, CustomStringConvertible {
    /// Answer with this service error (a real HTTP error response, never sent on).
    case error(BedrockErrorCode, retryAfterMs: Int?)
    /// Wait, then send the request.
    case latency(milliseconds: Int)
    /// Never answer.
    case stall
    /// Fail with a connection reset.
    case reset
    /// Fail with a time-to-first-byte timeout.
    case timeout
    /// Rewrite the response stream.
    case stream(ClientStreamFault)

    /// A short label for logs and reports: `ThrottlingException`, `latency 200ms`, `stream exception`.
    public var description: String {
        switch self {
        case let .error(code, _): code.rawValue
        case let .latency(ms): "latency \(ms)ms"
        case .stall: "stall"
        case .reset: "reset"
        case .timeout: "timeout"
        case let .stream(fault): "stream \(fault.kind.rawValue)"
        }
    }
}

/// A fault inside a response event stream, applied by rewriting its frames.
public struct ClientStreamFault: Sendable, Equatable {
    /// The kinds of stream fault.
    public enum Kind: String, Sendable, Codable {
        /// An exception event after N events, then the end of the stream.
        case exception
        /// The body stops in the middle of the frame after N events.
        case truncate
        /// The frame after N events has a wrong message CRC.
        case corruptCRC = "corrupt_crc"
        /// The stream ends early without `messageStop`/`metadata` (or without its last event).
        case close
        /// A pause before each event.
        case drip
    }
    /// What happens.
    public var kind: Kind
    /// Events passed through first (`nil`: 1, or for `close` all but the final ones).
    public var afterEvents: Int?
    /// The exception for `.exception`.
    public var exception: BedrockErrorCode
    /// Pause before each event for `.drip`.
    public var dripMilliseconds: Int

    /// A stream fault from its parts.
    public init(kind: Kind, afterEvents: Int? = nil, exception: BedrockErrorCode = .modelStreamError, dripMilliseconds: Int = 0) {
        self.kind = kind; self.afterEvents = afterEvents; self.exception = exception; self.dripMilliseconds = dripMilliseconds
    }
}
