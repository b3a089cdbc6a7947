import BedrockWire
import Foundation
import NIOCore

/// Builds event-stream bodies for test servers with the event-stream branch's writer.
public enum StreamFrames {
    public static func event(_ type: String, _ json: String) -> [UInt8] {
        let message = EventStreamWriter.event(type, payload: ByteBuffer(string: json))
        return (try? Array(EventStreamWriter().frame(message).readableBytesView)) ?? []
    }

    public static func exception(_ code: BedrockErrorCode, _ message: String) -> [UInt8] {
        (try? Array(EventStreamWriter().frame(EventStreamWriter.exception(code, message: message)).readableBytesView))
            ?? []
    }

    /// A complete ConverseStream answer whose text is `words` joined.
    public static func conversation(_ words: [String]) -> [[UInt8]] {
        var frames = [event("messageStart", #"{"role":"assistant","p":"abc"}"#)]
        for w in words {
            frames.append(event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"\#(w)"},"p":"xy"}"#))
        }
        frames.append(event("contentBlockStop", #"{"contentBlockIndex":0}"#))
        frames.append(event("messageStop", #"{"stopReason":"end_turn"}"#))
        frames.append(
            event(
                "metadata",
                #"{"usage":{"inputTokens":3,"outputTokens":\#(words.count),"totalTokens":\#(3 + words.count)},"metrics":{"latencyMs":9}}"#
            ))
        return frames
    }

    public static let headers: [(String, String)] = [
        ("Content-Type", "application/vnd.amazon.eventstream"), ("x-amzn-RequestId", "stream-req"),
    ]

    /// A server action streaming `frames`, each after `gap`, then `ending`.
    public static func stream(_ frames: [[UInt8]], gap: TimeAmount = .zero, ending: ServerAction.Ending = .complete)
        -> ServerAction
    {
        .stream(status: 200, headers: headers, parts: frames.map { (gap, $0) }, ending: ending)
    }
}
