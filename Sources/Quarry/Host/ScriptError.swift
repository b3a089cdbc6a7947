import Foundation

/// An error raised into Lua as a table `{code=…, message=…, status=…, retryable=…,
/// request_id=…, attempts=…}` with a readable `tostring` (`code: message`).
///
/// Throw it from a registered Swift function to give scripts a structured error; Bedrock
/// failures become one with the service's code exactly as AWS names it
/// (`ThrottlingException`) or a transport/host code (`Timeout`, `ConnectionError`,
/// `IncompleteStream`, `PolicyViolation`, …).
public struct ScriptError: Error, Sendable, CustomStringConvertible {
    /// The error code scripts match on.
    public var code: Code
    /// What went wrong, in words.
    public var message: String
    /// The HTTP status, when an answer came.
    public var status: Int?
    /// Whether trying again could succeed.
    public var retryable: Bool
    /// `x-amzn-RequestId` of the failed answer.
    public var requestId: String?
    /// The attempts made, oldest first.
    public var attempts: [AttemptRecord]
    /// Extra fields for the Lua table (e.g. `partial` for a stream cut short).
    public var fields: [String: LuaValue]

    /// An error with a code and a message.
    public init(
        code: Code, message: String, status: Int? = nil, retryable: Bool = false,
        requestId: String? = nil, attempts: [AttemptRecord] = [], fields: [String: LuaValue] = [:]
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.retryable = retryable
        self.requestId = requestId
        self.attempts = attempts
        self.fields = fields
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// The error as the Lua table scripts receive.
    public var luaValue: LuaValue {
        var map = fields
        map["code"] = .string(code.rawValue)
        map["message"] = .string(message)
        map["retryable"] = .boolean(retryable)
        if let status { map["status"] = .integer(Int64(status)) }
        if let requestId { map["request_id"] = .string(requestId) }
        map["attempts"] = .integer(Int64(attempts.count))
        if !attempts.isEmpty { map["attempt_log"] = AttemptLog.lua(attempts) }
        return .tagged(metatable: LuaState.errorMetatable, .map(map))
    }

    /// The script-facing form of any error a host call can throw.
    public static func from(_ error: any Error) -> ScriptError {
        switch error {
        case let e as ScriptError: return e
        case let e as BedrockError: return ScriptError(bedrock: e)
        case is CancellationError: return ScriptError(code: .cancelled, message: "the call was cancelled")
        case let e as LuaConversionError: return ScriptError(code: .validationError, message: e.description)
        default: return ScriptError(code: .hostError, message: String(describing: error))
        }
    }

    /// A Bedrock failure: the service's code as AWS names it, or a transport code.
    public init(bedrock e: BedrockError) {
        var code = Code(rawValue: e.code)
        var fields: [String: LuaValue] = [:]
        switch e.kind {
        case .transport(let failure):
            code = failure.isTimeout ? .timeout : .connectionError
            fields["detail"] = .string(failure.rawValue)
        case .invalidRequest: code = .validationError
        case .missingCredentials: code = .configurationError
        default: break
        }
        if let original = e.originalStatusCode { fields["original_status"] = .integer(Int64(original)) }
        if let resource = e.resourceName { fields["resource_name"] = .string(resource) }
        if let partial = e.partialResult {
            fields["partial"] = ResponseTables.streamResult(partial, attempts: e.attempts, requestId: e.requestId)
        }
        self.init(
            code: code, message: e.message, status: e.httpStatus, retryable: e.isRetryable,
            requestId: e.requestId, attempts: e.attempts, fields: fields)
    }
}

extension ScriptError {
    /// An error code, the `code` field scripts match on (`e.code == .validationError`).
    ///
    /// The host's own codes are static members (`.validationError`); an app makes its own
    /// from a string literal (`"UnknownProduct"`), and a Bedrock failure carries the
    /// service's code as AWS names it (`ThrottlingException`). Scripts see the raw string.
    public struct Code: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        /// The code as scripts see it.
        public let rawValue: String

        /// The code `rawValue`.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The code `value` (`"UnknownProduct"`).
        public init(stringLiteral value: String) { self.rawValue = value }
        /// The code as scripts see it.
        public var description: String { rawValue }

        /// A request, argument or value is malformed (a script's mistake).
        public static let validationError: Code = "ValidationError"
        /// The host's policy refuses the call (model, region, endpoint, budget).
        public static let policyViolation: Code = "PolicyViolation"
        /// A host limit is reached (in-flight bytes, output, input size).
        public static let limitExceeded: Code = "LimitExceeded"
        /// The host's or target's configuration is unusable.
        public static let configurationError: Code = "ConfigurationError"
        /// The call or run was cancelled.
        public static let cancelled: Code = "Cancelled"
        /// `json.encode`/`json.decode` failed.
        public static let jsonError: Code = "JSONError"
        /// A call timed out (connect, first byte, idle or total).
        public static let timeout: Code = "Timeout"
        /// The connection failed or broke (refused, reset, TLS, DNS).
        public static let connectionError: Code = "ConnectionError"
        /// Any other failure inside the host.
        public static let hostError: Code = "HostError"
        /// The host itself is broken (e.g. a built-in module did not load).
        public static let internalError: Code = "InternalError"
        /// A script file could not be read.
        public static let fileNotFound: Code = "FileNotFound"
        /// `stdin.read` on a host that gives scripts no input.
        public static let noInput: Code = "NoInput"
        /// The audit log cannot be written, so no more calls are made.
        public static let auditLogFailed: Code = "AuditLogFailed"
        /// `fault.*` on a host whose target has no client-side fault injector.
        public static let faultInjectionUnavailable: Code = "FaultInjectionUnavailable"
        /// `emulator.*` on a target that is not an emulator.
        public static let notAnEmulator: Code = "NotAnEmulator"
        /// The emulator's admin API did not answer.
        public static let emulatorUnreachable: Code = "EmulatorUnreachable"
        /// The emulator's admin API failed without naming an error type.
        public static let emulatorError: Code = "EmulatorError"
        /// A registered function called back into its own host while that host ran a script.
        public static let reentrancy: Code = "Reentrancy"
    }
}

/// Attempt records as Lua tables: what each attempt did, how long, what came next.
public enum AttemptLog {
    /// `{ {number=1, outcome="serviceError", code="ThrottlingException", status=429,
    /// duration_ms=…, wait_ms=…, decision="retry: throttling"}, … }`.
    public static func lua(_ attempts: [AttemptRecord]) -> LuaValue {
        guard !attempts.isEmpty else { return .map([:]) }
        return .array(
            attempts.map { a in
                var m: [String: LuaValue] = [
                    "number": .integer(Int64(a.number)),
                    "outcome": .string(a.outcome.rawValue),
                    "duration_ms": .number(a.duration.milliseconds),
                ]
                if let code = a.errorCode { m["code"] = .string(code) }
                if let status = a.httpStatus { m["status"] = .integer(Int64(status)) }
                if let id = a.requestId { m["request_id"] = .string(id) }
                if let wait = a.waitBeforeNext { m["wait_ms"] = .number(wait.milliseconds) }
                if let decision = a.decision { m["decision"] = .string(decision) }
                return .map(m)
            })
    }
}

extension Duration {
    /// The duration in milliseconds, as a float.
    var milliseconds: Double {
        let (s, atto) = components
        return Double(s) * 1000 + Double(atto) / 1e15
    }
}
