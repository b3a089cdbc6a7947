/// Content given to `ApplyGuardrail`: the same union a Converse `guardContent` block holds
/// (text or image), so it is one type under both names.
public typealias GuardrailContentBlock = GuardrailContent

/// The input of `ApplyGuardrail`.
public struct ApplyGuardrailRequest: Codable, Hashable, Sendable {
    public var guardrailIdentifier: String
    public var guardrailVersion: String
    /// `INPUT` or `OUTPUT`.
    public var source: String
    public var content: [GuardrailContent]
    /// `FULL` or `INTERVENTIONS`.
    public var outputScope: String?
    public init(
        guardrailIdentifier: String, guardrailVersion: String, source: String, content: [GuardrailContent],
        outputScope: String? = nil
    ) {
        self.guardrailIdentifier = guardrailIdentifier; self.guardrailVersion = guardrailVersion
        self.source = source; self.content = content; self.outputScope = outputScope
    }
}

/// The output of `ApplyGuardrail`; the detailed assessments are kept as JSON.
public struct ApplyGuardrailResponse: Codable, Hashable, Sendable {
    public var usage: JSONValue?
    /// `NONE` or `GUARDRAIL_INTERVENED`.
    public var action: String
    public var actionReason: String?
    public var outputs: [GuardrailTextBlock]?
    public var assessments: JSONValue?
    public var guardrailCoverage: JSONValue?
}
