/// Caps on what the client keeps from the network, so a broken or hostile server
/// cannot make it allocate without bound. Passing one is a `ResponseTooLarge` error
/// naming the cap, never an out-of-memory kill.
///
/// The defaults leave ample room for the service's real answers: the largest
/// non-streaming answers (InvokeModel of an image model returning several base64
/// images) are a few MiB; a ConverseStream's text and tool input are bounded by the
/// model's output tokens (at most a few hundred thousand, well under 8 MiB of text).
public struct ResponseLimits: Sendable, Hashable {
    /// Bytes of a non-streaming response body (default 32 MiB).
    public var maxBodyBytes: Int
    /// Bytes a stream's result may hold: the text, tool input and reasoning a
    /// ConverseStream accumulates, and for every stream the event bytes of one attempt
    /// not yet read by the consumer (default 64 MiB).
    public var maxStreamBytes: Int
    /// Bytes of an error response body kept for its message (default 1 MiB; the rest is
    /// discarded, not an error).
    public var maxErrorBodyBytes: Int

    /// 32 MiB body, 64 MiB stream, 1 MiB error body.
    public static let `default` = ResponseLimits()

    public init(maxBodyBytes: Int = 32 << 20, maxStreamBytes: Int = 64 << 20, maxErrorBodyBytes: Int = 1 << 20) {
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.maxStreamBytes = max(0, maxStreamBytes)
        self.maxErrorBodyBytes = max(0, maxErrorBodyBytes)
    }

    /// `32 MiB`, `64 KiB` or `100 bytes`.
    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
