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
    public var code: String
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
    public init(code: String, message: String, status: Int? = nil, retryable: Bool = false,
                requestId: String? = nil, attempts: [AttemptRecord] = [], fields: [String: LuaValue] = [:]) {
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
        map["code"] = .string(code)
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
        case is CancellationError: return ScriptError(code: "Cancelled", message: "the call was cancelled")
        case let e as LuaConversionError: return ScriptError(code: "ValidationError", message: e.description)
        default: return ScriptError(code: "HostError", message: String(describing: error))
        }
    }

    /// A Bedrock failure: the service's code as AWS names it, or a transport code.
    public init(bedrock e: BedrockError) {
        var code = e.code
        var fields: [String: LuaValue] = [:]
        switch e.kind {
        case .transport(let failure):
            code = failure.isTimeout ? "Timeout" : "ConnectionError"
            fields["detail"] = .string(failure.rawValue)
        case .invalidRequest: code = "ValidationError"
        default: break
        }
        if let original = e.originalStatusCode { fields["original_status"] = .integer(Int64(original)) }
        if let resource = e.resourceName { fields["resource_name"] = .string(resource) }
        if let partial = e.partialResult { fields["partial"] = ResponseTables.streamResult(partial, attempts: e.attempts, requestId: e.requestId) }
        self.init(code: code, message: e.message, status: e.httpStatus, retryable: e.isRetryable,
                  requestId: e.requestId, attempts: e.attempts, fields: fields)
    }
}

/// Attempt records as Lua tables: what each attempt did, how long, what came next.
public enum AttemptLog {
    /// `{ {number=1, outcome="serviceError", code="ThrottlingException", status=429,
    /// duration_ms=…, wait_ms=…, decision="retry: throttling"}, … }`.
    public static func lua(_ attempts: [AttemptRecord]) -> LuaValue {
        guard !attempts.isEmpty else { return .map([:]) }
        return .array(attempts.map { a in
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
