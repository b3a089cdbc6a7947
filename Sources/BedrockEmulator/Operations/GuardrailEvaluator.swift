import BedrockWire

/// The emulated guardrail's one deterministic policy, shared by ApplyGuardrail and a
/// Converse/ConverseStream `guardrailConfig`: text containing a blocked word
/// (word policy) or a PII shape (sensitive-information policy: e-mail, phone, card
/// number, US SSN, AWS access key, as ``SensitiveShapeScanner`` finds them) is blocked
/// (`GUARDRAIL_INTERVENED` with the assessment); anything else passes.
struct GuardrailEvaluator: Sendable {
    /// Words the emulated guardrails block by default (case-insensitive).
    static let blockedWords = EmulatorConfiguration.defaultGuardrailWords
    /// Words this guardrail blocks (config file `guardrail_words`), lower-cased.
    var words: [String] = blockedWords

    /// The policy with the given trigger words.
    init(words: [String] = blockedWords) { self.words = words.map { $0.lowercased() } }
    /// The PII shapes the emulated guardrails block.
    static let blockedEntities: Set<String> = [
        "EMAIL", "PHONE", "CREDIT_DEBIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
        "AWS_ACCESS_KEY",
    ]
    static let blockedMessage = "Sorry, the model cannot answer this question."

    func apply(identifier: String, version: String, body: JSONValue) throws(ServiceError) -> JSONValue {
        guard version == "DRAFT" || (Int(version).map { $0 >= 1 } ?? false) else {
            throw .constraint(
                "guardrailVersion", value: version,
                "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))")
        }
        guard let source = body["source"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'source' failed to satisfy constraint: Member must not be null"
            )
        }
        guard source == "INPUT" || source == "OUTPUT" else {
            throw .constraint("source", value: source, "Member must satisfy enum value set: [INPUT, OUTPUT]")
        }
        guard let content = body["content"]?.arrayValue else {
            throw .validation(
                "1 validation error detected: Value null at 'content' failed to satisfy constraint: Member must not be null"
            )
        }
        var findings = Findings()
        var characters = 0
        for block in content {
            guard let text = block["text"]?["text"]?.stringValue else { continue }
            characters += text.count
            findings.append(self.findings(in: text))
        }
        let units = JSONValue.int(max(1, (characters + 999) / 1000))
        let usage: JSONValue = [
            "topicPolicyUnits": units, "contentPolicyUnits": units, "wordPolicyUnits": units,
            "sensitiveInformationPolicyUnits": units, "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
        ]
        if findings.isEmpty {
            return ["action": "NONE", "outputs": [], "assessments": [[:]], "usage": usage]
        }
        return [
            "action": "GUARDRAIL_INTERVENED", "actionReason": "Guardrail blocked.",
            "outputs": [["text": .string(Self.blockedMessage)]],
            "assessments": [findings.assessment], "usage": usage,
        ]
    }

    /// What the policy found in a text: blocked words and PII shapes, in order.
    struct Findings: Sendable, Equatable {
        var words: [String] = []
        /// (entity type, the matched text)
        var entities: [(type: String, match: String)] = []
        var isEmpty: Bool { words.isEmpty && entities.isEmpty }

        mutating func append(_ other: Findings) {
            words += other.words
            entities += other.entities
        }

        /// The service's assessment shape: `wordPolicy.customWords` and
        /// `sensitiveInformationPolicy.piiEntities`, each only when something matched.
        var assessment: JSONValue {
            var policies: [(String, JSONValue)] = []
            if !words.isEmpty {
                policies.append(
                    (
                        "wordPolicy",
                        [
                            "customWords": .array(
                                words.map {
                                    ["match": .string($0), "action": "BLOCKED", "detected": true]
                                })
                        ]
                    ))
            }
            if !entities.isEmpty {
                policies.append(
                    (
                        "sensitiveInformationPolicy",
                        [
                            "piiEntities": .array(
                                entities.map {
                                    [
                                        "match": .string($0.match), "type": .string($0.type), "action": "BLOCKED",
                                        "detected": true,
                                    ]
                                })
                        ]
                    ))
            }
            return .object(policies)
        }

        static func == (a: Findings, b: Findings) -> Bool {
            a.words == b.words && a.entities.map(\.type) == b.entities.map(\.type)
                && a.entities.map(\.match) == b.entities.map(\.match)
        }
    }

    /// The policy's findings in `text` (empty when it passes).
    func findings(in text: String) -> Findings {
        let lowered = text.lowercased()
        let scalars = Array(text.unicodeScalars)
        let entities = SensitiveShapeScanner.scan(text).filter { Self.blockedEntities.contains($0.type) }.compactMap {
            entity -> (type: String, match: String)? in
            guard entity.begin >= 0, entity.begin <= entity.end, entity.end <= scalars.count else { return nil }
            var match = String.UnicodeScalarView()
            match.append(contentsOf: scalars[entity.begin..<entity.end])
            return (entity.type, String(match))
        }
        return Findings(words: words.filter { lowered.contains($0) }, entities: entities)
    }
}
