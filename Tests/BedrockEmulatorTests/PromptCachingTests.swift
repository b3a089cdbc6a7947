import Foundation
import Testing

@testable import BedrockEmulator

/// Prompt caching.
@Suite struct PromptCachingTests {
    func body(_ system: String, _ text: String) -> JSONValue {
        converseBody(text, extra: ["system": [["text": .string(system)], ["cachePoint": ["type": "default"]]]])
    }

    @Test("a cache point writes its prefix first, then reads it; usage adds up")
    func writeThenRead() async throws {
        try await withEmulator { _, client in
            let system = "You are a careful geologist who answers in two sentences about rocks and minerals."
            let first = try await client.send("/model/\(claude)/converse", json: body(system, "What is granite?"))
            let usage1 = try #require(first.json?["usage"])
            let written = try #require(usage1["cacheWriteInputTokens"]?.intValue)
            #expect(written == TokenCounter.count(system))
            #expect(usage1["cacheReadInputTokens"]?.intValue == 0)
            let second = try await client.send("/model/\(claude)/converse", json: body(system, "What is basalt?"))
            let usage2 = try #require(second.json?["usage"])
            #expect(usage2["cacheReadInputTokens"]?.intValue == written)
            #expect(usage2["cacheWriteInputTokens"]?.intValue == 0)
            let total = (usage2["inputTokens"]?.intValue ?? 0) + (usage2["outputTokens"]?.intValue ?? 0) + written
            #expect(usage2["totalTokens"]?.intValue == total)
            // CountTokens still counts the whole input.
            let counted = try await client.send(
                "/model/\(claude)/count-tokens", json: ["input": ["converse": body(system, "What is basalt?")]])
            #expect(counted.json?["inputTokens"]?.intValue == (usage2["inputTokens"]?.intValue ?? 0) + written)
            // Another prefix is a new write; no cache point, no cache fields.
            let other = try await client.send(
                "/model/\(claude)/converse", json: body("Answer like a poet.", "What is basalt?"))
            #expect((other.json?["usage"]?["cacheWriteInputTokens"]?.intValue ?? 0) > 0)
            let plain = try await client.send("/model/\(claude)/converse", json: converseBody("What is basalt?"))
            #expect(plain.json?["usage"]?["cacheReadInputTokens"] == nil)
        }
    }

    @Test("entries expire after five minutes and the table stays bounded")
    func lifetime() {
        let cache = PromptCache(capacity: 2)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(!cache.readOrWrite(1, now: start))
        #expect(cache.readOrWrite(1, now: start.addingTimeInterval(299)))
        #expect(!cache.readOrWrite(1, now: start.addingTimeInterval(299 + 301)))
        _ = cache.readOrWrite(2, now: start.addingTimeInterval(700))
        _ = cache.readOrWrite(3, now: start.addingTimeInterval(701))
        #expect(!cache.readOrWrite(1, now: start.addingTimeInterval(702)))
    }
}
