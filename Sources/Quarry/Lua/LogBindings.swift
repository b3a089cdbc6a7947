import Foundation
import Logging

/// `log(level, text)`: a script's log line to the host's logger, counted against the
/// output limit, cut to a bounded length and with credential-like text masked.
struct LogBindings {
    let core: HostCore

    /// Adds `log` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("log", log)
    }

    /// The longest log line kept; the rest is cut before redaction (so the redaction's
    /// regular expressions never run over megabytes) and noted in the line.
    static let maxLogLine = 8 << 10

    private func log(_ call: LuaHostCall) -> LuaHostResult {
        let level = call.argument(1).stringValue ?? "info"
        var text = call.argument(2).stringValue ?? ""
        let length = text.utf8.count
        if length > Self.maxLogLine {
            text =
                String(decoding: text.utf8.prefix(Self.maxLogLine), as: UTF8.self)
                + "… (\(length - Self.maxLogLine) more bytes cut)"
        }
        // Log lines count against the run's output limit like print and stderr.write.
        guard core.chargeOutput(text.utf8.count + 1) else {
            call.state.tripLimit(
                .output, "sandbox limit: output limit of \(core.policy.limits.outputBytes) bytes reached (log.\(level))"
            )
            return .values([])
        }
        let message = SecretRedactor.redact(text)
        switch level {
        case "warn": core.logger.warning("\(message)", metadata: ["source": "script"])
        case "error": core.logger.error("\(message)", metadata: ["source": "script"])
        case "debug": core.logger.debug("\(message)", metadata: ["source": "script"])
        default: core.logger.info("\(message)", metadata: ["source": "script"])
        }
        return .values([])
    }
}

/// Masks what looks like a credential before a script's log line reaches the logger.
enum SecretRedactor {
    static func redact(_ text: String) -> String {
        var out = text
        for pattern in [#"(AKIA|ASIA)[A-Z0-9]{16}"#, #"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"#] {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            let range = NSRange(out.startIndex..., in: out)
            out = regex.stringByReplacingMatches(in: out, range: range, withTemplate: "[redacted]")
        }
        return out
    }
}
