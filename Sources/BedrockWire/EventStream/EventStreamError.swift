/// Why an event stream could not be decoded, and where: the message's byte offset in
/// the stream and what exactly was wrong with it.
///
/// A decoder that has thrown one of these stays failed (the framing is lost, so no
/// later byte can be trusted): every further call throws the same error.
public struct EventStreamDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public var reason: Reason
    /// Offset in the stream of the first byte of the message that was wrong.
    public var streamOffset: Int

    /// An error for the message starting at `streamOffset`.
    public init(_ reason: Reason, streamOffset: Int) {
        self.reason = reason
        self.streamOffset = streamOffset
    }

    /// The kinds of malformed input.
    public enum Reason: Error, Sendable, Hashable {
        /// The prelude's `total_length` is below 16, the smallest possible message.
        case messageTooShort(totalLength: UInt32)
        /// The prelude's `headers_length` does not fit inside `total_length`.
        case headersLengthExceedsMessage(headersLength: UInt32, totalLength: UInt32)
        /// The headers section is longer than the limit (128 KiB by default).
        case headersTooLong(length: Int, limit: Int)
        /// The payload is longer than the limit (16 MiB by default).
        case payloadTooLong(length: Int, limit: Int)
        /// The prelude CRC does not match the first eight bytes.
        case preludeChecksumMismatch(expected: UInt32, computed: UInt32)
        /// The message CRC does not match the message.
        case messageChecksumMismatch(expected: UInt32, computed: UInt32)
        /// A header uses a value type id outside 0–9.
        case unknownHeaderType(typeID: UInt8, headerName: String)
        /// A header's name runs past the end of the headers section.
        case headerNameOverrun(offset: Int, nameLength: Int, remaining: Int)
        /// A header's value (or its type byte / length field) runs past the end of the
        /// headers section.
        case headerValueOverrun(headerName: String, needed: Int, remaining: Int)
        /// A header name is not valid UTF-8.
        case invalidHeaderNameUTF8(offset: Int)
        /// A string header's value is not valid UTF-8.
        case invalidStringUTF8(headerName: String)
        /// Two headers of one message share a name (the spec forbids it; botocore rejects it).
        case duplicateHeader(headerName: String)
        /// The stream ended inside a message.
        case truncated(bufferedBytes: Int, expectedBytes: Int?)
    }

    /// A sentence naming the problem, with numbers.
    public var description: String {
        let at = "event-stream message at byte \(streamOffset)"
        switch reason {
        case .messageTooShort(let total):
            return "\(at): total length \(total) is below the 16-byte minimum"
        case .headersLengthExceedsMessage(let headers, let total):
            return "\(at): headers length \(headers) does not fit in total length \(total)"
        case .headersTooLong(let length, let limit):
            return "\(at): headers length \(length) exceeds the limit of \(limit) bytes"
        case .payloadTooLong(let length, let limit):
            return "\(at): payload length \(length) exceeds the limit of \(limit) bytes"
        case .preludeChecksumMismatch(let expected, let computed):
            return "\(at): prelude CRC mismatch (message says \(hex(expected)), computed \(hex(computed)))"
        case .messageChecksumMismatch(let expected, let computed):
            return "\(at): message CRC mismatch (message says \(hex(expected)), computed \(hex(computed)))"
        case .unknownHeaderType(let typeID, let name):
            return "\(at): header \(String(reflecting: name)) has unknown value type \(typeID) (valid types are 0-9)"
        case .headerNameOverrun(let offset, let length, let remaining):
            return
                "\(at): header name at offset \(offset) of the headers claims \(length) bytes but only \(remaining) remain"
        case .headerValueOverrun(let name, let needed, let remaining):
            return
                "\(at): header \(String(reflecting: name)) needs \(needed) more bytes but only \(remaining) remain in the headers section"
        case .invalidHeaderNameUTF8(let offset):
            return "\(at): header name at offset \(offset) of the headers is not valid UTF-8"
        case .invalidStringUTF8(let name):
            return "\(at): string header \(String(reflecting: name)) is not valid UTF-8"
        case .duplicateHeader(let name):
            return "\(at): header \(String(reflecting: name)) appears more than once"
        case .truncated(let buffered, let expected?):
            return "\(at): stream ended inside a message (\(buffered) of \(expected) bytes received)"
        case .truncated(let buffered, nil):
            return "\(at): stream ended inside a message prelude (\(buffered) of 12 bytes received)"
        }
    }
}

/// Why a message could not be encoded.
public enum EventStreamEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A header name is empty or longer than 255 bytes of UTF-8.
    case invalidHeaderNameLength(name: String, byteCount: Int)
    /// A string or byte-array header value is longer than the limit (32767 bytes, the
    /// most AWS's own encoders write).
    case headerValueTooLong(name: String, byteCount: Int, limit: Int)
    /// The encoded headers exceed the headers limit (128 KiB by default).
    case headersTooLong(length: Int, limit: Int)
    /// The payload exceeds the payload limit (16 MiB by default).
    case payloadTooLong(length: Int, limit: Int)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case .invalidHeaderNameLength(let name, let count):
            "cannot encode event-stream header \(String(reflecting: name)): name is \(count) bytes, must be 1-255"
        case .headerValueTooLong(let name, let count, let limit):
            "cannot encode event-stream header \(String(reflecting: name)): value is \(count) bytes, limit is \(limit)"
        case .headersTooLong(let length, let limit):
            "cannot encode event-stream message: headers take \(length) bytes, limit is \(limit)"
        case .payloadTooLong(let length, let limit):
            "cannot encode event-stream message: payload is \(length) bytes, limit is \(limit)"
        }
    }
}

/// The size limits of the event-stream format that a decoder enforces before it
/// buffers anything, so a hostile prelude cannot make it allocate.
public struct EventStreamLimits: Sendable, Hashable {
    /// Largest headers section accepted (default 128 KiB).
    public var maxHeadersLength: Int
    /// Largest payload accepted (default 16 MiB).
    public var maxPayloadLength: Int

    /// Limits with the given sizes.
    public init(maxHeadersLength: Int = 128 * 1024, maxPayloadLength: Int = 16 * 1024 * 1024) {
        self.maxHeadersLength = maxHeadersLength
        self.maxPayloadLength = maxPayloadLength
    }

    /// 128 KiB of headers, 16 MiB of payload: the limits of AWS's event-stream spec.
    public static let standard = EventStreamLimits()
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
