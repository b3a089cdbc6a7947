import BedrockWire
import Foundation
import Synchronization

/// The request prefix a Converse `cachePoint` marks: what the service caches, in its
/// order — tools, then system, then messages — up to the last cache point.
struct CachePrefix: Sendable, Equatable {
    /// A stable hash of the model and of every item before the last cache point.
    var key: UInt64
    /// The input tokens of that prefix.
    var tokens: Int
    /// The last cache point's time to live (`5m` or `1h`; `5m` when it names none).
    var ttl = "5m"

    /// The prefix of a Converse body, or nil when it has no cache point.
    static func of(_ body: JSONValue, model: String) -> CachePrefix? {
        var hash = StableHash.of(model.utf8)
        var tokens = 0
        var marked: CachePrefix?
        func take(_ item: JSONValue, tokens count: Int) {
            if item["cachePoint"] != nil {
                marked = CachePrefix(key: hash, tokens: tokens, ttl: item["cachePoint"]?["ttl"]?.stringValue ?? "5m")
            } else {
                hash = StableHash.of(item.serialized, seed: hash)
                tokens += count
            }
        }
        for tool in body["toolConfig"]?["tools"]?.arrayValue ?? [] {
            let spec = tool["toolSpec"]
            take(
                tool,
                tokens: TokenCounter.count(spec?["name"]?.stringValue ?? "")
                    + TokenCounter.count(spec?["description"]?.stringValue ?? "")
                    + TokenCounter.count(spec?["inputSchema"]?["json"]?.text ?? ""))
        }
        for item in body["system"]?.arrayValue ?? [] {
            take(item, tokens: TokenCounter.count(item["text"]?.stringValue ?? ""))
        }
        for message in body["messages"]?.arrayValue ?? [] {
            hash = StableHash.of((message["role"]?.stringValue ?? "").utf8, seed: hash)
            for block in message["content"]?.arrayValue ?? [] {
                let count: Int
                if let text = block["text"]?.stringValue {
                    count = TokenCounter.count(text)
                } else if block["image"] != nil || block["document"] != nil || block["video"] != nil
                    || block["audio"] != nil
                {
                    count = GenerationRequest.mediaTokens
                } else {
                    count = TokenCounter.count(block.text)
                }
                take(block, tokens: count)
            }
        }
        return marked.flatMap { $0.tokens > 0 ? $0 : nil }
    }
}

/// Prompt caching across requests: a prefix seen for the first time is written
/// (`cacheWriteInputTokens`), a repeat within the time to live is read
/// (`cacheReadInputTokens`). Entries live 5 minutes from their last use, as on the
/// service; the table holds at most `capacity` prefixes (the least recently used go).
final class PromptCache: @unchecked Sendable {
    static let timeToLive: TimeInterval = 300
    let capacity: Int
    private let lock = Mutex(())
    private var lastUse: [UInt64: Date] = [:]

    init(capacity: Int = 4096) { self.capacity = capacity }

    /// True when `key` was cached and is still alive (a read); otherwise stores it (a write).
    func readOrWrite(_ key: UInt64, now: Date = Date()) -> Bool {
        lock.withLock { _ in
            let alive = lastUse[key].map { now.timeIntervalSince($0) < Self.timeToLive } ?? false
            lastUse[key] = now
            if lastUse.count > capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
                lastUse.removeValue(forKey: oldest)
            }
            return alive
        }
    }
}
