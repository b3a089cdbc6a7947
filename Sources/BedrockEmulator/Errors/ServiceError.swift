import BedrockWire

/// An error the emulator answers with, shaped as the service shapes it: an HTTP
/// status, the `x-amzn-ErrorType` name and a `{"message": …}` body.
///
/// Service errors come from ``BedrockWire/BedrockErrorCode``; authentication failures
/// (which the AWS front end, not Bedrock, produces) use their own names.
public struct ServiceError: Error, Sendable, Equatable {
    /// The error's wire name, e.g. `ValidationException`.
    public let name: String
    /// The HTTP status of the response.
    public let status: Int
    /// The human-readable message, in the service's wording style.
    public let message: String
    /// Milliseconds to put in `x-amz-retry-after`, when asked for.
    public var retryAfterMilliseconds: Int?

    /// One of Bedrock Runtime's own errors.
    public init(_ code: BedrockErrorCode, _ message: String, retryAfterMilliseconds: Int? = nil) {
        self.name = code.rawValue
        self.status = code.httpStatus
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// An error outside Bedrock's table (authentication front end).
    init(name: String, status: Int, message: String) {
        self.name = name
        self.status = status
        self.message = message
    }

    /// A `ValidationException` with the given message.
    static func validation(_ message: String) -> ServiceError { ServiceError(.validation, message) }

    /// The Coral-style constraint message the service uses for a field that fails a rule.
    static func constraint(_ path: String, value: String, _ rule: String) -> ServiceError {
        .validation("1 validation error detected: Value '\(value)' at '\(path)' failed to satisfy constraint: \(rule)")
    }

    /// The message the service gives for a body the model's schema rejects.
    static func malformed(_ detail: String) -> ServiceError {
        .validation("Malformed input request: \(detail), please reformat your input and try again.")
    }

    /// The default message for an injected error of this code.
    static func injected(_ code: BedrockErrorCode, retryAfterMilliseconds: Int?) -> ServiceError {
        return ServiceError(code, code.serviceMessage, retryAfterMilliseconds: retryAfterMilliseconds)
    }

    /// The JSON body `{"message": …}`.
    var body: JSONValue { ["message": .string(message)] }
}
