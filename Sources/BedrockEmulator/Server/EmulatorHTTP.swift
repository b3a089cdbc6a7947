import NIOCore
import NIOHTTP1

/// A whole HTTP request as the emulator sees it.
struct EmulatorRequest: Sendable {
    var method: String
    /// The request target as sent (path and query, percent-encoded).
    var target: String
    var headers: HTTPHeaders
    var body: ByteBuffer

    var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
    var query: Substring {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? parts[1] : ""
    }
    var bodyBytes: [UInt8] { Array(body.readableBytesView) }
}

/// What the connection handler does with a request.
enum EmulatorResponse: Sendable {
    /// A complete response.
    case complete(status: Int, headers: [(String, String)], body: [UInt8])
    /// An event-stream response: frames sent one by one, paced, possibly broken.
    case stream(status: Int, headers: [(String, String)], frames: [[UInt8]], pacing: StreamPacing)
    /// Never answer.
    case stall
    /// Reset the TCP connection.
    case reset
}

/// How a stream's frames are sent and where it breaks.
struct StreamPacing: Sendable {
    /// Pause before each frame after the first.
    var delay: Duration = .zero
    /// What happens after `breakAfter` frames (`nil`: the stream completes).
    var ending: StreamEnding = .complete
}

/// How a stream ends.
enum StreamEnding: Sendable, Equatable {
    /// Every frame, then the end of the body.
    case complete
    /// After N frames, send the first half of the next frame and close the connection.
    case truncate(after: Int)
    /// After N frames, end the body and close the connection.
    case close(after: Int)
}
