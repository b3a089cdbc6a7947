import Foundation
import Synchronization

/// Turns a call's answer into `RunEvent`s for `QuarryHost.events(for:)`: stream events
/// as they arrive (tool-use input gathered until its block ends), or a whole answer.
final class RunEventTranslator: @unchecked Sendable {
    private let sink: RunEventSink?
    private let lock = Mutex(())
    private var tools: [Int: (id: String, name: String, input: String)] = [:]

    init(sink: RunEventSink?) { self.sink = sink }

    /// One ConverseStream event (called in stream order).
    func see(_ event: ConverseStreamEvent) {
        guard let sink else { return }
        switch event {
        case .contentBlockDelta(_, .text(let text)):
            sink.emit(.text(text))
        case .contentBlockDelta(_, .reasoningContent(.text(let text))):
            sink.emit(.reasoning(text))
        case .contentBlockStart(let index, .toolUse(let id, let name)):
            lock.withLock { _ in tools[index] = (id, name, "") }
        case .contentBlockDelta(let index, .toolUse(let input)):
            lock.withLock { _ in tools[index]?.input += input }
        case .contentBlockStop(let index):
            if let tool = lock.withLock({ _ in tools.removeValue(forKey: index) }) {
                sink.emit(.toolUse(id: tool.id, name: tool.name, input: tool.input))
            }
        case .messageStop(let reason, _):
            sink.emit(.status("stop: \(reason.rawValue)"))
        case .restarted(let attempt, let reason):
            sink.emit(.status("restarted: attempt \(attempt) (\(reason))"))
        default:
            break
        }
    }

    /// The events of a whole (non-streamed) Converse answer.
    static func events(of response: ConverseResponse) -> [RunEvent] {
        var events: [RunEvent] = []
        if case .message(let message) = response.output {
            for block in message.content {
                switch block {
                case .text(let text): events.append(.text(text))
                case .reasoningContent(.reasoningText(let r)): events.append(.reasoning(r.text))
                case .toolUse(let tool):
                    events.append(
                        .toolUse(id: tool.toolUseId, name: tool.name, input: JSONWriter.compact.string(tool.input)))
                default: break
                }
            }
        }
        events.append(.status("stop: \(response.stopReason.rawValue)"))
        return events
    }
}
