import BedrockWire
import Foundation
import Synchronization

/// A reply a test scripts in advance: when a request matches, the model answers with
/// exactly this (text, a tool call, JSON or an error) instead of its own answer.
///
/// Match (all given must hold): `model` (the id as sent or the model it resolves to),
/// `operation` (`Converse`, `ConverseStream`, `InvokeModel`, …), `contains` (a
/// case-insensitive substring of the last user turn), `pattern` (a regular expression
/// searched in it). Reply, exactly one of: `text`, `tool` (`{name, input}`), `json`
/// (sent as the text), `error` (a Bedrock error name, with an optional `message`).
/// `times` limits how often it answers; replies are tried in the order they were added.
public struct ScriptedReply: Sendable, Codable, Equatable {
    /// A tool call to answer with.
    public struct ToolCall: Sendable, Codable, Equatable {
        public var name: String
        /// The call's input; absent → built from the tool's schema in the request.
        public var input: JSONValue?
        public init(name: String, input: JSONValue? = nil) { self.name = name; self.input = input }
    }

    public var model: String?
    public var operation: String?
    public var contains: String?
    public var pattern: String?
    public var text: String?
    public var tool: ToolCall?
    public var json: JSONValue?
    public var error: String?
    public var message: String?
    public var times: Int?

    public init(
        model: String? = nil, operation: String? = nil, contains: String? = nil, pattern: String? = nil,
        text: String? = nil, tool: ToolCall? = nil, json: JSONValue? = nil, error: String? = nil,
        message: String? = nil, times: Int? = nil
    ) {
        self.model = model; self.operation = operation; self.contains = contains; self.pattern = pattern
        self.text = text; self.tool = tool; self.json = json; self.error = error; self.message = message;
        self.times = times
    }

    /// Checks the reply is well formed; the error names what is wrong.
    func validated() throws(FaultRuleError) -> (NSRegularExpression?, BedrockErrorCode?) {
        let kinds = [text != nil, tool != nil, json != nil, error != nil].filter { $0 }.count
        guard kinds == 1 else {
            throw FaultRuleError(
                reply: kinds == 0
                    ? "a scripted reply needs one of text, tool, json or error"
                    : "a scripted reply takes exactly one of text, tool, json or error")
        }
        if let operation, BedrockOperation(rawValue: operation) == nil {
            throw FaultRuleError(reply: "unknown operation '\(operation)'")
        }
        if let times, times < 1 { throw FaultRuleError(reply: "times must be at least 1, got \(times)") }
        if let tool, tool.name.isEmpty { throw FaultRuleError(reply: "tool.name must not be empty") }
        if let pattern, pattern.utf8.count > 1000 { throw FaultRuleError(reply: "pattern is longer than 1000 bytes") }
        var regex: NSRegularExpression?
        if let pattern {
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw FaultRuleError(reply: "pattern is not a valid regular expression: \(pattern)")
            }
        }
        var code: BedrockErrorCode?
        if let error {
            guard let known = BedrockErrorCode(wireName: error) else {
                throw FaultRuleError(reply: "unknown error '\(error)'")
            }
            code = known
        }
        return (regex, code)
    }
}

extension FaultRuleError {
    init(reply message: String) { self.init(message, subject: "scripted reply") }
}

/// A scripted reply in force, with its id and how often it answered.
public struct ActiveReply: Sendable {
    public let id: String
    public let reply: ScriptedReply
    public internal(set) var hits: Int
    let regex: NSRegularExpression?
    let error: BedrockErrorCode?
}

/// The scripted replies, shared by the admin API, the Swift API and the config file.
final class ReplyBook: @unchecked Sendable {
    private let lock = Mutex(())
    private var replies: [ActiveReply] = []
    private var counter = 0
    /// At most this many replies at once.
    static let capacity = 1000

    func add(_ reply: ScriptedReply) throws(FaultRuleError) -> String {
        let (regex, error) = try reply.validated()
        return try lock.withLock { _ throws(FaultRuleError) in
            guard replies.count < Self.capacity else {
                throw FaultRuleError(reply: "at most \(Self.capacity) replies at once")
            }
            counter += 1
            let id = "reply-\(counter)"
            replies.append(ActiveReply(id: id, reply: reply, hits: 0, regex: regex, error: error))
            return id
        }
    }

    var active: [ActiveReply] { lock.withLock { _ in replies } }

    func clear() { lock.withLock { _ in replies.removeAll() } }

    func remove(id: String) -> Bool {
        lock.withLock { _ in
            guard let index = replies.firstIndex(where: { $0.id == id }) else { return false }
            replies.remove(at: index)
            return true
        }
    }

    /// The first reply that matches, counted as a hit (and dropped once `times` is used up).
    func match(operation: String, requestedModel: String?, model: String, lastUserText: String) -> ActiveReply? {
        lock.withLock { _ in
            let lowered = lastUserText.lowercased()
            for index in replies.indices {
                let reply = replies[index].reply
                if let wanted = reply.operation, wanted != operation { continue }
                if let wanted = reply.model, wanted != model, wanted != requestedModel { continue }
                if let needle = reply.contains, !lowered.contains(needle.lowercased()) { continue }
                if let regex = replies[index].regex {
                    let range = NSRange(lastUserText.startIndex..., in: lastUserText)
                    if regex.firstMatch(in: lastUserText, range: range) == nil { continue }
                }
                replies[index].hits += 1
                let hit = replies[index]
                if let times = reply.times, hit.hits >= times { replies.remove(at: index) }
                return hit
            }
            return nil
        }
    }
}
