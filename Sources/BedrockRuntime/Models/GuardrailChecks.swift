import Foundation

// InvokeGuardrailChecks (`POST /guardrail-checks/invoke`): standalone safety checks on
// a conversation without a configured guardrail. Shapes and names follow the service's
// API model (`com.amazonaws.bedrockruntime#InvokeGuardrailChecks*`).

/// The role of a message given to `InvokeGuardrailChecks`: `USER`, `ASSISTANT` or `SYSTEM`.
public struct GuardrailChecksRole: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let user: Self = "USER"
    public static let assistant: Self = "ASSISTANT"
    public static let system: Self = "SYSTEM"
}

/// One content block of a guardrail-checks message (the API has text only).
public enum GuardrailChecksContentBlock: Codable, Hashable, Sendable {
    case text(String)
    case unknown(String, JSONValue)

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "GuardrailChecksContentBlock")
        switch name {
        case "text": self = .text(try c.decode(String.self, forKey: key))
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .text(v): try UnionCoding.encode(v, as: "text", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// A message to check: a role and its text blocks.
public struct GuardrailChecksMessage: Codable, Hashable, Sendable {
    public var role: GuardrailChecksRole
    public var content: [GuardrailChecksContentBlock]
    public init(role: GuardrailChecksRole, content: [GuardrailChecksContentBlock]) {
        self.role = role; self.content = content
    }
    /// A message of one text block.
    public init(role: GuardrailChecksRole, text: String) { self.init(role: role, content: [.text(text)]) }
}

/// A content-filter category to score: `VIOLENCE`, `HATE`, `SEXUAL`, `MISCONDUCT`, `INSULTS`.
public struct GuardrailChecksContentFilterCategoryConfig: Codable, Hashable, Sendable {
    public var category: String
    public init(category: String) { self.category = category }
}

/// The content-filter check: which categories to score.
public struct GuardrailChecksContentFilterConfig: Codable, Hashable, Sendable {
    public var categories: [GuardrailChecksContentFilterCategoryConfig]
    public init(categories: [String]) { self.categories = categories.map { .init(category: $0) } }
}

/// A prompt-attack category to score: `JAILBREAK`, `PROMPT_INJECTION`, `PROMPT_LEAKAGE`.
public struct GuardrailChecksPromptAttackCategoryConfig: Codable, Hashable, Sendable {
    public var category: String
    public init(category: String) { self.category = category }
}

/// The prompt-attack check: which categories to score.
public struct GuardrailChecksPromptAttackConfig: Codable, Hashable, Sendable {
    public var categories: [GuardrailChecksPromptAttackCategoryConfig]
    public init(categories: [String]) { self.categories = categories.map { .init(category: $0) } }
}

/// A sensitive-information entity type to detect, e.g. `EMAIL`, `PHONE`,
/// `CREDIT_DEBIT_CARD_NUMBER`.
public struct GuardrailChecksSensitiveInformationEntityConfig: Codable, Hashable, Sendable {
    public var type: String
    public init(type: String) { self.type = type }
}

/// The sensitive-information check: which entity types to detect.
public struct GuardrailChecksSensitiveInformationConfig: Codable, Hashable, Sendable {
    public var entities: [GuardrailChecksSensitiveInformationEntityConfig]
    public init(entities: [String]) { self.entities = entities.map { .init(type: $0) } }
}

/// Which checks to run; set at least one.
public struct GuardrailChecksConfig: Codable, Hashable, Sendable {
    public var contentFilter: GuardrailChecksContentFilterConfig?
    public var promptAttack: GuardrailChecksPromptAttackConfig?
    public var sensitiveInformation: GuardrailChecksSensitiveInformationConfig?
    public init(
        contentFilter: GuardrailChecksContentFilterConfig? = nil,
        promptAttack: GuardrailChecksPromptAttackConfig? = nil,
        sensitiveInformation: GuardrailChecksSensitiveInformationConfig? = nil
    ) {
        self.contentFilter = contentFilter; self.promptAttack = promptAttack;
        self.sensitiveInformation = sensitiveInformation
    }
}

/// The input of `InvokeGuardrailChecks`.
public struct InvokeGuardrailChecksRequest: Codable, Hashable, Sendable {
    public var messages: [GuardrailChecksMessage]
    public var checks: GuardrailChecksConfig
    public init(messages: [GuardrailChecksMessage], checks: GuardrailChecksConfig) {
        self.messages = messages; self.checks = checks
    }
}

/// A content-filter category's severity, 0 (none) to 1.
public struct GuardrailChecksContentFilterResultEntry: Codable, Hashable, Sendable {
    public var category: String
    public var severityScore: Double
}

/// Content-filter scores, one per requested category.
public struct GuardrailChecksContentFilterResult: Codable, Hashable, Sendable {
    public var results: [GuardrailChecksContentFilterResultEntry]
}

/// A prompt-attack category's severity, 0 (none) to 1.
public struct GuardrailChecksPromptAttackResultEntry: Codable, Hashable, Sendable {
    public var category: String
    public var severityScore: Double
}

/// Prompt-attack scores, one per requested category.
public struct GuardrailChecksPromptAttackResult: Codable, Hashable, Sendable {
    public var results: [GuardrailChecksPromptAttackResultEntry]
}

/// One detected entity: its type, confidence and where it is (character offsets in
/// the text of `messages[messageIndex].content[contentIndex]`, end exclusive).
public struct GuardrailChecksSensitiveInformationResultEntry: Codable, Hashable, Sendable {
    public var type: String
    public var confidenceScore: Double
    public var beginOffset: Int
    public var endOffset: Int
    public var messageIndex: Int
    public var contentIndex: Int
}

/// Detected entities; `truncated` when the service stopped listing them.
public struct GuardrailChecksSensitiveInformationResult: Codable, Hashable, Sendable {
    public var results: [GuardrailChecksSensitiveInformationResultEntry]
    public var truncated: Bool?
}

/// The results of the checks that were requested.
public struct GuardrailChecksResults: Codable, Hashable, Sendable {
    public var contentFilter: GuardrailChecksContentFilterResult?
    public var promptAttack: GuardrailChecksPromptAttackResult?
    public var sensitiveInformation: GuardrailChecksSensitiveInformationResult?
}

/// Text units one check consumed.
public struct GuardrailChecksTextUnits: Codable, Hashable, Sendable {
    public var textUnits: Int
}

/// Text units per check.
public struct GuardrailChecksUsageResults: Codable, Hashable, Sendable {
    public var contentFilter: GuardrailChecksTextUnits?
    public var promptAttack: GuardrailChecksTextUnits?
    public var sensitiveInformation: GuardrailChecksTextUnits?
}

/// The output of `InvokeGuardrailChecks`.
public struct InvokeGuardrailChecksResponse: Codable, Hashable, Sendable {
    public var results: GuardrailChecksResults
    public var usage: GuardrailChecksUsageResults
}
