import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One event-stream message: ordered headers and a payload.
///
/// Decoded payloads are slices of the bytes the decoder was given (no copy when a
/// message arrives inside one buffer). The accessors read the headers Bedrock streams
/// use to route a message: `:message-type` (`event`, `exception` or `error`),
/// `:event-type`, `:exception-type`, `:content-type`, `:error-code`, `:error-message`.
///
/// A decoded message keeps its headers section as the (already checked) wire bytes and
/// builds `headers` only when asked: a client routes each message by the few headers
/// the decoder noted while checking them, so a long stream allocates no header array
/// per message.
public struct EventStreamMessage: Sendable, Hashable {
    /// The headers in wire order. Names may repeat on the wire; accessors use the first.
    public var headers: [EventStreamHeader] {
        get {
            switch storage {
            case .parsed(let headers): return headers
            case .wire(let bytes):
                // The decoder checked these bytes, so parsing cannot fail here.
                return bytes.withUnsafeReadableBytes { (try? HeaderParser.parse($0).get()) ?? [] }
            }
        }
        set {
            storage = .parsed(newValue)
            routing = RoutingHeaders(newValue)
        }
    }
    /// The payload bytes (for Bedrock, JSON).
    public var payload: ByteBuffer

    fileprivate enum Storage: Sendable {
        case parsed([EventStreamHeader])
        case wire(ByteBuffer)
    }
    fileprivate var storage: Storage
    fileprivate var routing: RoutingHeaders

    /// A message with the given headers and payload.
    public init(headers: [EventStreamHeader] = [], payload: ByteBuffer = ByteBuffer()) {
        self.storage = .parsed(headers)
        self.routing = RoutingHeaders(headers)
        self.payload = payload
    }

    /// A message whose payload is a copy of `bytes` (a `[UInt8]`, or a string's `utf8`).
    public init(headers: [EventStreamHeader] = [], payloadBytes bytes: some Sequence<UInt8>) {
        self.init(headers: headers, payload: ByteBuffer(bytes: bytes))
    }

    /// A decoded message: its checked headers section, what it says about routing, and
    /// the payload.
    init(checkedHeaders: ByteBuffer, routing: RoutingHeaders, payload: ByteBuffer) {
        self.storage = .wire(checkedHeaders)
        self.routing = routing
        self.payload = payload
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
    public var messageType: String? { routing.messageType }
    /// `:event-type` of an event, e.g. `contentBlockDelta` or `chunk`.
    public var eventType: String? { routing.eventType }
    /// `:exception-type` of an exception: the error's member name, e.g. `throttlingException`.
    public var exceptionType: String? { routing.exceptionType }
    /// `:content-type` of the payload, e.g. `application/json`.
    public var contentType: String? { routing.contentType }
    /// `:error-code` of an unmodelled error message.
    public var errorCode: String? { stringHeader(EventStreamHeaderName.errorCode) }
    /// `:error-message` of an unmodelled error message.
    public var errorMessage: String? { stringHeader(EventStreamHeaderName.errorMessage) }

    /// What the message is, from `:message-type` (absent counts as an event, as the
    /// AWS SDKs treat it).
    public var kind: EventStreamMessageKind { EventStreamMessageKind(messageType: routing.messageType) }

    public static func == (lhs: EventStreamMessage, rhs: EventStreamMessage) -> Bool {
        lhs.payload == rhs.payload && lhs.headers == rhs.headers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(headers)
        hasher.combine(payload)
    }

    /// The payload as an array of bytes (a copy).
    public var payloadBytes: [UInt8] { Array(payload.readableBytesView) }

    /// The payload decoded as UTF-8 text (invalid sequences become U+FFFD).
    public var payloadString: String { String(decoding: payload.readableBytesView, as: UTF8.self) }
}

/// A decoded message seen in place (see `EventStreamDecoder.decodeAvailable`): its
/// checked headers section and payload as views of the received bytes, valid only
/// during the call that shows it.
public struct EventStreamMessageView {
    /// The headers section, already checked (lengths, types, UTF-8).
    public let headerBytes: UnsafeRawBufferPointer
    /// The payload bytes.
    public let payload: UnsafeRawBufferPointer
    @usableFromInline let routing: RawRoutingHeaders

    init(headerBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, routing: RawRoutingHeaders) {
        self.headerBytes = headerBytes
        self.payload = payload
        self.routing = routing
    }

    /// `:message-type`: `event`, `exception` or `error`.
    public var messageType: String? { routing.text(1, routing.messageType, in: headerBytes) }
    /// `:event-type` of an event.
    public var eventType: String? { routing.text(2, routing.eventType, in: headerBytes) }
    /// `:exception-type` of an exception.
    public var exceptionType: String? { routing.text(4, routing.exceptionType, in: headerBytes) }
    /// `:content-type` of the payload.
    public var contentType: String? { routing.text(8, routing.contentType, in: headerBytes) }

    /// Whether `:event-type` is the string `name` (compared as bytes, nothing made).
    @inlinable
    public func eventType(is name: StaticString) -> Bool {
        guard let bytes = routing.string(2, routing.eventType, in: headerBytes) else { return false }
        return Self.bytes(bytes, equal: name)
    }

    @inlinable @inline(__always)
    static func bytes(_ bytes: UnsafeRawBufferPointer, equal literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount, let base = bytes.baseAddress else {
            return literal.utf8CodeUnitCount == 0
        }
        return memcmp(base, literal.utf8Start, bytes.count) == 0
    }

    /// What the message is (absent `:message-type` counts as an event).
    @inlinable
    public var kind: EventStreamMessageKind {
        guard routing.seen & 1 != 0 else { return .event }
        guard let bytes = routing.string(1, routing.messageType, in: headerBytes) else { return .other("") }
        if Self.bytes(bytes, equal: "event") { return .event }
        if Self.bytes(bytes, equal: "exception") { return .exception }
        if Self.bytes(bytes, equal: "error") { return .error }
        return .other(String(decoding: bytes, as: UTF8.self))
    }

    /// An owned copy of the message, to keep beyond the view's call.
    public func makeMessage() -> EventStreamMessage {
        EventStreamMessage(
            checkedHeaders: ByteBuffer(bytes: headerBytes), routing: routing.owned(in: headerBytes),
            payload: ByteBuffer(bytes: payload))
    }
}

extension EventStreamMessageKind {
    /// The kind a `:message-type` value names (absent counts as an event).
    init(messageType: String?) {
        switch messageType {
        case nil, "event": self = .event
        case "exception": self = .exception
        case "error": self = .error
        case let other?: self = .other(other)
        }
    }
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
