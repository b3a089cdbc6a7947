import Synchronization

/// Collects text written from several threads: print output, stderr, log lines.
public final class TextSink: Sendable {
    private let parts = Mutex<[String]>([])

    public init() {}

    /// Appends `text` (a `QuarryHost` output function, a log line).
    @Sendable public func write(_ text: String) { parts.withLock { $0.append(text) } }

    /// Everything written, joined.
    public var text: String { parts.withLock { $0.joined() } }

    /// Each write on its own, in order (for a log capture: one entry a line).
    public var writes: [String] { parts.withLock { $0 } }
}
