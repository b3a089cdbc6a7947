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
        if let buffer = try? writer.frame(message) { return withMessageCRC(Array(buffer.readableBytesView)) }
        let fallback = EventStreamWriter.error(code: "InternalServerException", message: "frame too large to encode")
        return (try? writer.frame(fallback)).map { withMessageCRC(Array($0.readableBytesView)) } ?? []
    }

    /// Sets the trailing message CRC to the CRC32 of every byte before it (prelude and
    /// prelude CRC included), as the spec and botocore require. The encoder at
    /// `eventstream` 3e41ea8 leaves the prelude-CRC bytes out of this sum; this keeps
    /// frames valid either way (a no-op once the encoder is fixed).
    private static func withMessageCRC(_ frame: [UInt8]) -> [UInt8] {
        guard frame.count >= 16 else { return frame }
        var fixed = frame
        let crc = CRC32.checksum(frame[..<(frame.count - 4)])
        fixed[frame.count - 4] = UInt8(truncatingIfNeeded: crc >> 24)
        fixed[frame.count - 3] = UInt8(truncatingIfNeeded: crc >> 16)
        fixed[frame.count - 2] = UInt8(truncatingIfNeeded: crc >> 8)
        fixed[frame.count - 1] = UInt8(truncatingIfNeeded: crc)
        return fixed
    }
}
