/// The kinds of fault inside a response event stream (a rule's `stream` field).
public enum StreamFaultKind: String, Sendable, Codable, CaseIterable {
    /// An exception event after N events, then the end of the stream.
    case exception
    /// The body stops in the middle of the frame after N events and the connection closes.
    case truncate
    /// The frame after N events has a wrong message CRC.
    case corruptCRC = "corrupt_crc"
    /// The stream ends early without `messageStop`/`metadata` (or without its last event).
    case close
    /// A pause between events.
    case drip
}

/// A fault inside a response event stream.
public struct StreamFault: Sendable, Equatable {
    /// What happens.
    public var kind: StreamFaultKind
    /// Events passed through first (`nil`: the kind's default, 1, or for `close` all but
    /// the final ones).
    public var afterEvents: Int?
    /// The exception for `.exception`.
    public var exception: BedrockErrorCode
    /// Pause between events for `.drip`.
    public var dripMilliseconds: Int
    /// For `.exception`: an error code the service sends as an unmodelled
    /// `:message-type: error` frame (`:error-code`, `:error-message`) instead of a
    /// modelled exception event, e.g. `InternalFailure`.
    public var unmodelledErrorCode: String?

    /// A stream fault from its parts.
    public init(
        kind: StreamFaultKind, afterEvents: Int? = nil, exception: BedrockErrorCode = .modelStreamError,
        dripMilliseconds: Int = 0, unmodelledErrorCode: String? = nil
    ) {
        self.kind = kind; self.afterEvents = afterEvents; self.exception = exception
        self.dripMilliseconds = dripMilliseconds; self.unmodelledErrorCode = unmodelledErrorCode
    }

    /// The unmodelled error codes AWS's front end sends mid-stream as `error` frames.
    public static let unmodelledErrorCodes: Set<String> = [
        "InternalFailure", "ServiceUnavailable", "RequestTimeout", "Throttling",
    ]

    /// The `:error-message` sent with an unmodelled error code.
    public static func unmodelledErrorMessage(_ code: String) -> String {
        switch code {
        case "InternalFailure": "The request processing has failed because of an unknown error, exception or failure."
        case "ServiceUnavailable": "The request has failed due to a temporary failure of the server."
        case "RequestTimeout": "The request timed out before the service could finish the stream."
        default: "Rate exceeded"
        }
    }
}
