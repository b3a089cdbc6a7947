import NIOCore

/// Frames the messages a Bedrock Runtime response stream carries, byte for byte as the
/// service frames them, for the emulator (and for tests of the client).
///
/// - An event: headers `:event-type`, `:content-type`, `:message-type: event`, in that
///   order, and a JSON payload.
/// - A modelled exception: `:exception-type` (the error's camelCase member name, e.g.
///   `throttlingException`), `:content-type`, `:message-type: exception`, and a payload
///   `{"message":…}` plus any extra members.
/// - An unmodelled error: `:error-code`, `:error-message`, `:message-type: error`, no payload.
public struct EventStreamWriter: Sendable {
    /// The encoder that writes the frames.
    public let encoder: EventStreamEncoder

    /// A writer using `encoder` (the standard limits by default).
    public init(encoder: EventStreamEncoder = EventStreamEncoder()) {
        self.encoder = encoder
    }

    // MARK: Messages

    /// An event message: `eventType` (e.g. `contentBlockDelta`) with a JSON payload.
    public static func event(
        _ eventType: String, payload: ByteBuffer,
        contentType: String = "application/json"
    ) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                .string(EventStreamHeaderName.eventType, eventType),
                .string(EventStreamHeaderName.contentType, contentType),
                .string(EventStreamHeaderName.messageType, "event"),
            ], payload: payload)
    }

    /// An exception message whose `:exception-type` is `exceptionType` (a camelCase
    /// member name such as `modelStreamErrorException`) and whose payload is the JSON
    /// `payload` as given (use `exceptionPayload` for the usual `{"message":…}`).
    public static func exception(_ exceptionType: String, payload: ByteBuffer) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                .string(EventStreamHeaderName.exceptionType, exceptionType),
                .string(EventStreamHeaderName.contentType, "application/json"),
                .string(EventStreamHeaderName.messageType, "exception"),
            ], payload: payload)
    }

    /// The exception message for a Bedrock error code, with payload `{"message":…}`.
    public static func exception(_ code: BedrockErrorCode, message: String) -> EventStreamMessage {
        exception(code.streamMemberName, payload: exceptionPayload(message: message))
    }

    /// An unmodelled error message (`:message-type: error`) with an empty payload.
    public static func error(code: String, message: String) -> EventStreamMessage {
        EventStreamMessage(headers: [
            .string(EventStreamHeaderName.errorCode, code),
            .string(EventStreamHeaderName.errorMessage, message),
            .string(EventStreamHeaderName.messageType, "error"),
        ])
    }

    /// The JSON `{"message":"…"}`, followed by `extraMembers` — each a member name and
    /// an already-encoded JSON value, in order (e.g. `("originalStatusCode", "500")`).
    public static func exceptionPayload(message: String, extraMembers: [(name: String, json: String)] = [])
        -> ByteBuffer
    {
        var json = "{\"message\":"
        JSONText.appendQuoted(message, to: &json)
        for member in extraMembers {
            json += ","
            JSONText.appendQuoted(member.name, to: &json)
            json += ":" + member.json
        }
        json += "}"
        return ByteBuffer(string: json)
    }

    // MARK: Framing

    /// Appends the frame of an event to `buffer`.
    public func writeEvent(
        _ eventType: String, payload: ByteBuffer,
        into buffer: inout ByteBuffer
    ) throws(EventStreamEncodingError) {
        try encoder.encode(Self.event(eventType, payload: payload), into: &buffer)
    }

    /// Appends the frame of a modelled exception to `buffer`.
    public func writeException(
        _ code: BedrockErrorCode, message: String,
        into buffer: inout ByteBuffer
    ) throws(EventStreamEncodingError) {
        try encoder.encode(Self.exception(code, message: message), into: &buffer)
    }

    /// The frame of any message.
    public func frame(_ message: EventStreamMessage) throws(EventStreamEncodingError) -> ByteBuffer {
        try encoder.encode(message)
    }
}

/// Minimal JSON string quoting, as AWS services write it: `"` and `\` escaped, control
/// characters as `\n`-style or `\u00XX` escapes, everything else (including `/` and
/// non-ASCII) written as is.
enum JSONText {
    static func appendQuoted(_ text: String, to json: inout String) {
        json.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json.append("\\\"")
            case "\\": json.append("\\\\")
            case "\n": json.append("\\n")
            case "\r": json.append("\\r")
            case "\t": json.append("\\t")
            case "\u{08}": json.append("\\b")
            case "\u{0C}": json.append("\\f")
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                json.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: json.unicodeScalars.append(scalar)
            }
        }
        json.append("\"")
    }
}
