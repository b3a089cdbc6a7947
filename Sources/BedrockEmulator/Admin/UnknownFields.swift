import BedrockWire
import Foundation

/// Refuses JSON objects with fields the emulator does not know: a typo (`"time": 1`
/// for `"times": 1`) would otherwise be dropped silently and change what a rule does
/// (a fault meant to fire once would fire forever).
enum UnknownFields {
    /// The fields of a fault rule (``FaultRule``).
    static let faultRule: Set<String> = [
        "operation", "model", "region", "probability", "seed", "times", "seconds", "error", "retry_after_ms",
        "latency_ms", "stall", "reset", "stream", "after_events", "exception", "drip_ms",
    ]
    /// The fields of a scripted reply (``ScriptedReply``).
    static let scriptedReply: Set<String> = [
        "model", "operation", "contains", "pattern", "text", "tool", "json", "error", "message", "times",
    ]
    /// The fields of a scripted reply's `tool`.
    static let toolCall: Set<String> = ["name", "input"]

    /// An error message naming the first unknown field of `value` (an object) under
    /// `path`, or nil when every field is known (or `value` is no object).
    static func problem(in value: JSONValue?, known: Set<String>, what: String) -> String? {
        guard let members = value?.objectValue else { return nil }
        guard let unknown = members.keys.filter({ !known.contains($0) }).sorted().first else { return nil }
        return "\(what) has an unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))"
    }

    /// The same for a scripted reply and its `tool`.
    static func replyProblem(in value: JSONValue?, what: String) -> String? {
        problem(in: value, known: scriptedReply, what: what)
            ?? problem(in: value?["tool"], known: toolCall, what: "\(what).tool")
    }
}
