import BedrockWire

/// One entry of the config file's `models` list: a model of the user's own added to
/// the catalogue. Only `id` and `family` are required; the family (its InvokeModel
/// body format) decides which operations serve the model.
struct DeclaredModel: Decodable, Sendable {
    var id: String
    var family: String
    var name: String?
    var provider: String?
    var maxOutputTokens: Int?
    var defaultMaxTokens: Int?
    var toolUse: Bool?
    var reasoning: Bool?
    var systemPrompt: Bool?
    var embeddingDimensions: Int?
    var inputModalities: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, family, name, provider, reasoning
        case maxOutputTokens = "max_output_tokens", defaultMaxTokens = "default_max_tokens", toolUse = "tool_use"
        case systemPrompt = "system_prompt", embeddingDimensions = "embedding_dimensions"
        case inputModalities = "input_modalities"
    }

    /// The content kinds besides text a model may take.
    static let modalities: Set<String> = ["image", "document", "video", "audio"]

    /// The descriptor, or a message naming the bad field.
    func descriptor() throws(EmulatorConfigurationError) -> ModelDescriptor {
        func fail(_ message: String) -> EmulatorConfigurationError { EmulatorConfigurationError(message: message) }
        guard (1...256).contains(id.count), !id.contains(where: { $0.isWhitespace || $0 == "/" || $0.isNewline }) else {
            throw fail("id must be 1…256 characters without spaces or '/', got '\(id.prefix(64))'")
        }
        guard let family = ModelFamily(rawValue: self.family) else {
            throw fail(
                "family '\(self.family.prefix(64))' is unknown (known: \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let embeds = family == .amazonTitanEmbeddings || family == .cohereEmbed
        let maximum = maxOutputTokens ?? (family.generatesText ? 4096 : 0)
        guard (family.generatesText ? 1 : 0)...1_000_000 ~= maximum else {
            throw fail("max_output_tokens must be between \(family.generatesText ? 1 : 0) and 1000000, got \(maximum)")
        }
        let standard = defaultMaxTokens ?? min(maximum, 4096)
        guard (0...maximum).contains(standard) else {
            throw fail("default_max_tokens must be between 0 and max_output_tokens (\(maximum)), got \(standard)")
        }
        if let dimensions = embeddingDimensions {
            guard embeds else {
                throw fail("embedding_dimensions is only for the titan-embed and cohere-embed families")
            }
            guard (1...16_384).contains(dimensions) else {
                throw fail("embedding_dimensions must be between 1 and 16384, got \(dimensions)")
            }
        }
        let kinds = inputModalities ?? []
        if let unknown = kinds.first(where: { !Self.modalities.contains($0) }) {
            throw fail("input_modalities has '\(unknown.prefix(64))' (known: audio, document, image, video)")
        }
        return .declared(
            id: id, name: name ?? id, provider: provider ?? "Custom", family: family,
            maxOutputTokens: maximum, defaultMaxTokens: standard,
            supportsToolUse: toolUse ?? family.generatesText, supportsReasoning: reasoning ?? false,
            supportsSystemPrompt: systemPrompt ?? family.generatesText,
            embeddingDimensions: embeds ? (embeddingDimensions ?? 1024) : nil, inputModalities: Set(kinds))
    }
}
