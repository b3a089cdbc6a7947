import Foundation

/// What `bedrock.identity()` and `bedrock.models()` return to scripts.
extension CallerIdentity {
    /// `{region=, access_key_id=, source=, expires=, error=}`, absent fields left out
    /// (`expires` as ISO 8601).
    var luaValue: LuaValue {
        var map: [String: LuaValue] = ["region": .string(region)]
        if let accessKeyId { map["access_key_id"] = .string(accessKeyId) }
        if let source { map["source"] = .string(source) }
        if let expires { map["expires"] = .string(ISO8601DateFormatter().string(from: expires)) }
        if let error { map["error"] = .string(error) }
        return .map(map)
    }
}

extension ModelSummary {
    /// `{id=, name=, provider=, max_output_tokens=, tool_use=, reasoning=}`.
    var luaValue: LuaValue {
        .map([
            "id": .string(id), "name": .string(name), "provider": .string(provider),
            "max_output_tokens": .integer(Int64(maxOutputTokens)), "tool_use": .boolean(supportsToolUse),
            "reasoning": .boolean(supportsReasoning),
        ])
    }
}
