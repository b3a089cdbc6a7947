import BedrockRuntime
import Foundation
import Quarry

/// The line the REPL prints when a Bedrock call ends:
/// `[ConverseStream amazon.nova-micro-v1:0 · 12 → 48 tokens · 0.84 s]`, or with the
/// error code instead of the tokens when it failed (`cancelled` when Ctrl-C or the end
/// of the input stopped it), and the attempt count when retried.
struct CallStatusLine {
    let text: String

    init(_ record: CallRecord) {
        var parts = [record.operation + (record.model.map { " " + $0 } ?? "")]
        if record.errorCode == ScriptError.Code.cancelled.rawValue || record.attempts.last?.outcome == .cancelled {
            parts.append("cancelled")
        } else if let code = record.errorCode {
            parts.append(code)
        } else if record.inputTokens != nil || record.outputTokens != nil {
            let input = record.inputTokens.map(String.init) ?? "?"
            let output = record.outputTokens.map(String.init) ?? "?"
            parts.append("\(input) → \(output) tokens")
        }
        if record.attempts.count > 1 { parts.append("\(record.attempts.count) attempts") }
        let seconds =
            Double(record.duration.components.seconds)
            + Double(record.duration.components.attoseconds) / 1e18
        parts.append(String(format: "%.2f s", seconds))
        text = "[" + parts.joined(separator: " · ") + "]"
    }
}
