import NIOCore

/// One event-stream message: ordered headers and a payload.
///
/// Decoded payloads are slices of the bytes the decoder was given (no copy when a
/// message arrives inside one buffer). The accessors read the headers Bedrock streams
/// use to route a message: `:message-type` (`event`, `exception` or `error`),
/// `:event-type`, `:exception-type`, `:content-type`, `:error-code`, `:error-message`.
public struct EventStreamMessage: Sendable, Hashable {
    /// The headers in wire order. Names may repeat on the wire; accessors use the first.
    public var headers: [EventStreamHeader]
    /// The payload bytes (for Bedrock, JSON).
    public var payload: ByteBuffer

    /// A message with the given headers and payload.
    public init(headers: [EventStreamHeader] = [], payload: ByteBuffer = ByteBuffer()) {
        self.headers = headers
        self.payload = payload
    }

    /// A message whose payload is a copy of `bytes` (a `[UInt8]`, or a string's `utf8`).
    public init(headers: [EventStreamHeader] = [], payloadBytes bytes: some Sequence<UInt8>) {
        self.init(headers: headers, payload: ByteBuffer(bytes: bytes))
    }

    /// The value of the first header called `name`, if any.
    public subscript(header name: String) -> EventStreamHeaderValue? {
        for header in headers where header.name == name { return header.value }
        return nil
    }

    /// The text of the first string header called `name`; nil when absent or not a string.
    public func stringHeader(_ name: String) -> String? {
        self[header: name]?.stringValue
    }

    /// `:message-type`: `event`, `exception` (a modelled error) or `error` (unmodelled).
    public var messageType: String? { stringHeader(EventStreamHeaderName.messageType) }
    /// `:event-type` of an event, e.g. `contentBlockDelta` or `chunk`.
    public var eventType: String? { stringHeader(EventStreamHeaderName.eventType) }
    /// `:exception-type` of an exception: the error's member name, e.g. `throttlingException`.
    public var exceptionType: String? { stringHeader(EventStreamHeaderName.exceptionType) }
    /// `:content-type` of the payload, e.g. `application/json`.
    public var contentType: String? { stringHeader(EventStreamHeaderName.contentType) }
    /// `:error-code` of an unmodelled error message.
    public var errorCode: String? { stringHeader(EventStreamHeaderName.errorCode) }
    /// `:error-message` of an unmodelled error message.
    public var errorMessage: String? { stringHeader(EventStreamHeaderName.errorMessage) }

    /// What the message is, from `:message-type` (absent counts as an event, as the
    /// AWS SDKs treat it).
    public var kind: EventStreamMessageKind {
        switch messageType {
        case nil, "event": .event
        case "exception": .exception
        case "error": .error
        case let other?: .other(other)
        }
    }

    /// The payload as an array of bytes (a copy).
    public var payloadBytes: [UInt8] { Array(payload.readableBytesView) }

    /// The payload decoded as UTF-8 text (invalid sequences become U+FFFD).
    public var payloadString: String { String(decoding: payload.readableBytesView, as: UTF8.self) }
}

/// The three kinds of message a `:message-type` header names.
public enum EventStreamMessageKind: Sendable, Hashable {
    /// `event`: a member of the stream's event union, named by `:event-type`.
    case event
    /// `exception`: a modelled error, named by `:exception-type` (camelCase member name).
    case exception
    /// `error`: an unmodelled error with `:error-code` and `:error-message`.
    case error
    /// Any other `:message-type` value.
    case other(String)
}

/// The names of the headers AWS event streams use.
public enum EventStreamHeaderName {
    /// `:message-type`
    public static let messageType = ":message-type"
    /// `:event-type`
    public static let eventType = ":event-type"
    /// `:exception-type`
    public static let exceptionType = ":exception-type"
    /// `:content-type`
    public static let contentType = ":content-type"
    /// `:error-code`
    public static let errorCode = ":error-code"
    /// `:error-message`
    public static let errorMessage = ":error-message"
    /// `:date` (signed input events of bidirectional streams)
    public static let date = ":date"
    /// `:chunk-signature` (signed input events of bidirectional streams)
    public static let chunkSignature = ":chunk-signature"
}
