import BedrockWire
import NIOCore

/// Event-stream frames for responses, framed by BedrockWire's writer exactly as the
/// service frames them.
enum EventFrames {
    private static let writer = EventStreamWriter()

    /// An event frame (`:event-type`, `:content-type`, `:message-type: event`).
    static func event(type: String, payload: [UInt8]) -> [UInt8] {
        frame(EventStreamWriter.event(type, payload: ByteBuffer(bytes: payload)))
    }

    /// A modelled exception frame (`:exception-type` is the camelCase member name).
    static func exception(memberName: String, payload: [UInt8]) -> [UInt8] {
        frame(EventStreamWriter.exception(memberName, payload: ByteBuffer(bytes: payload)))
    }

    private static func frame(_ message: EventStreamMessage) -> [UInt8] {
        // Our payloads are far below the frame limits; an encoding failure would mean a
        // broken invariant, so it degrades to an unmodelled error frame rather than a crash.
        if let buffer = try? writer.frame(message) { return Array(buffer.readableBytesView) }
        let fallback = EventStreamWriter.error(code: "InternalServerException", message: "frame too large to encode")
        return (try? writer.frame(fallback)).map { Array($0.readableBytesView) } ?? []
    }
}
