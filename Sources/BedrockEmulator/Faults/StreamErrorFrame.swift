import BedrockWire
import NIOCore

/// The unmodelled `:message-type: error` frame AWS's front end sends mid-stream
/// (`:error-code`, `:error-message`, empty payload), framed by BedrockWire's writer.
enum StreamErrorFrame {
    private static let writer = EventStreamWriter()

    /// The frame's bytes. Both headers are short strings the emulator chose, far below
    /// the header limits; should framing still fail, the frame is left out (the
    /// stream then simply ends), never a crash.
    static func error(code: String, message: String) -> [UInt8] {
        guard let buffer = try? writer.frame(EventStreamWriter.error(code: code, message: message)) else { return [] }
        return Array(buffer.readableBytesView)
    }
}
