import BedrockWire

/// ApplyGuardrail with a deterministic policy: text containing a blocked word is
/// blocked (`GUARDRAIL_INTERVENED`, with a word-policy assessment), anything else passes.
struct GuardrailEvaluator: Sendable {
    /// Words the emulated guardrails block (case-insensitive).
    static let blockedWords = ["forbidden", "blocked-topic", "classified"]
    static let blockedMessage = "Sorry, the model cannot answer this question."

    func apply(identifier: String, version: String, body: JSONValue) throws(ServiceError) -> JSONValue {
        guard version == "DRAFT" || (Int(version).map { $0 >= 1 } ?? false) else {
            throw .constraint("guardrailVersion", value: version, "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))")
        }
        guard let source = body["source"]?.stringValue else {
            throw .validation("1 validation error detected: Value null at 'source' failed to satisfy constraint: Member must not be null")
        }
        guard source == "INPUT" || source == "OUTPUT" else {
            throw .constraint("source", value: source, "Member must satisfy enum value set: [INPUT, OUTPUT]")
        }
        guard let content = body["content"]?.arrayValue else {
            throw .validation("1 validation error detected: Value null at 'content' failed to satisfy constraint: Member must not be null")
        }
        var matches: [JSONValue] = []
        var characters = 0
        for block in content {
            guard let text = block["text"]?["text"]?.stringValue else { continue }
            characters += text.count
            let lowered = text.lowercased()
            for word in Self.blockedWords where lowered.contains(word) {
                matches.append(["match": .string(word), "action": "BLOCKED", "detected": true])
            }
        }
        let units = JSONValue.int(max(1, (characters + 999) / 1000))
        let usage: JSONValue = ["topicPolicyUnits": units, "contentPolicyUnits": units, "wordPolicyUnits": units,
                                "sensitiveInformationPolicyUnits": units, "sensitiveInformationPolicyFreeUnits": 0,
                                "contextualGroundingPolicyUnits": 0]
        if matches.isEmpty {
            return ["action": "NONE", "outputs": [], "assessments": [[:]], "usage": usage]
        }
        return ["action": "GUARDRAIL_INTERVENED", "actionReason": "Guardrail blocked.",
                "outputs": [["text": .string(Self.blockedMessage)]],
                "assessments": [["wordPolicy": ["customWords": .array(matches)]]], "usage": usage]
    }

    /// The word-policy matches of `text` (empty when it passes).
    static func matches(in text: String) -> [String] {
        let lowered = text.lowercased()
        return blockedWords.filter { lowered.contains($0) }
    }

    /// A Converse guardrail assessment for the matched words (`wordPolicy.customWords`).
    static func assessment(_ words: [String]) -> JSONValue {
        ["wordPolicy": ["customWords": .array(words.map { ["match": .string($0), "action": "BLOCKED", "detected": true] })]]
    }
}
