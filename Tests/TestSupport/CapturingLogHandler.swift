import Logging

/// A log handler that keeps every line, with the handler's and the event's metadata,
/// so a test can check what reaches a logger (and that no secret does).
public struct CapturingLogHandler: LogHandler {
    public let sink: TextSink
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(sink: TextSink) { self.sink = sink }

    /// A trace-level logger whose lines go to `sink`.
    public static func logger(_ label: String, into sink: TextSink) -> Logger {
        Logger(label: label) { _ in CapturingLogHandler(sink: sink) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes `level message key=value…` (metadata sorted) and a newline.
    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let fields = all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
        sink.write("\(event.level) \(event.message)" + (fields.isEmpty ? "" : " " + fields) + "\n")
    }
}
