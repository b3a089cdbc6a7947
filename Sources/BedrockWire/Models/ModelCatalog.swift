/// The model families Bedrock serves (and the emulator speaks), each with its own InvokeModel body format.
public enum ModelFamily: String, Sendable, CaseIterable, Codable {
    case anthropicClaude = "anthropic"
    case amazonNova = "nova"
    case amazonTitanText = "titan-text"
    case amazonTitanEmbeddings = "titan-embed"
    case metaLlama = "llama"
    case mistral = "mistral"
    case cohereCommand = "cohere-command"
    case cohereEmbed = "cohere-embed"
    /// OpenAI-style chat completions (gpt-oss, DeepSeek, Qwen).
    case openAIChat = "openai-chat"
    /// Video generation (Nova Reel): served only by StartAsyncInvoke.
    case amazonNovaReel = "nova-reel"
    /// Speech to speech (Nova Sonic): served only by InvokeModelWithBidirectionalStream.
    case amazonNovaSonic = "nova-sonic"

    /// Whether the family generates text through Converse and InvokeModel; embedding,
    /// video and speech models do not.
    public var generatesText: Bool {
        switch self {
        case .amazonTitanEmbeddings, .cohereEmbed, .amazonNovaReel, .amazonNovaSonic: false
        default: true
        }
    }

    /// Whether InvokeModel serves the family (Nova Reel answers only asynchronously,
    /// Nova Sonic only over a bidirectional stream).
    public var servesInvokeModel: Bool { self != .amazonNovaReel && self != .amazonNovaSonic }

    /// Whether StartAsyncInvoke serves the family: only video generation (Nova Reel).
    public var servesAsyncInvoke: Bool { self == .amazonNovaReel }

    /// Whether InvokeModelWithBidirectionalStream serves the family: only speech (Nova Sonic).
    public var servesBidirectionalStream: Bool { self == .amazonNovaSonic }
}

/// One local model: its Bedrock model id and what it supports.
public struct ModelDescriptor: Sendable, Hashable, Codable {
    /// The foundation-model id, e.g. `anthropic.claude-3-haiku-20240307-v1:0`.
    public let id: String
    /// The human name the provider uses.
    public let name: String
    /// The provider, as Bedrock lists it.
    public let provider: String
    /// Which native body format InvokeModel uses.
    public let family: ModelFamily
    /// The largest `maxTokens` the model accepts.
    public let maxOutputTokens: Int
    /// The output length used when the request gives none.
    public let defaultMaxTokens: Int
    /// Whether Converse accepts `toolConfig` for this model.
    public let supportsToolUse: Bool
    /// Whether the model can emit reasoning blocks.
    public let supportsReasoning: Bool
    /// Whether Converse accepts `system` prompts for this model.
    public let supportsSystemPrompt: Bool
    /// Embedding size, for embedding models.
    public let embeddingDimensions: Int?
    /// The content kinds besides text Converse accepts (`image`, `document`, `video`,
    /// `audio`); nil accepts every kind.
    public var inputModalities: Set<String>? = nil

    /// Whether Converse accepts a content block of `kind` (`image`, `document`, …).
    public func accepts(_ kind: String) -> Bool { inputModalities.map { $0.contains(kind) } ?? true }
}

/// The models the emulator serves and how ids, inference-profile ids and ARNs map to them.
public struct ModelCatalog: Sendable {
    /// Every model, in listing order.
    public let models: [ModelDescriptor]
    private let byID: [String: ModelDescriptor]

    /// A catalog of the given models.
    public init(models: [ModelDescriptor]) {
        self.models = models
        self.byID = Dictionary(models.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The inference-profile prefixes that name a cross-region profile of a model.
    static let profilePrefixes = ["us.", "eu.", "apac.", "us-gov.", "ca.", "jp.", "au.", "global."]

    /// Finds the model a request names: a model id, a cross-region profile id
    /// (`us.…`, `eu.…`, `global.…`), or a foundation-model / inference-profile ARN.
    public func resolve(_ identifier: String) -> ModelDescriptor? {
        var id = Substring(identifier)
        if id.hasPrefix("arn:") {
            // arn:aws:bedrock:REGION:ACCOUNT:foundation-model/ID or inference-profile/ID
            let parts = id.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6, parts[2] == "bedrock", let slash = parts[5].firstIndex(of: "/") else {
                return nil
            }
            let kind = parts[5][..<slash]
            guard
                kind == "foundation-model" || kind == "inference-profile"
                    || kind == "application-inference-profile"
            else { return nil }
            id = parts[5][parts[5].index(after: slash)...]
        }
        if let direct = byID[String(id)] { return direct }
        for prefix in Self.profilePrefixes where id.hasPrefix(prefix) {
            if let model = byID[String(id.dropFirst(prefix.count))] { return model }
        }
        return nil
    }

    /// The built-in catalog: the families people use on Bedrock, each with the content
    /// kinds Converse takes for it (images for vision models, video for Nova Lite and
    /// Pro, documents for chat models; Titan Text takes text only).
    public static let standard = ModelCatalog(
        models: modalities(
            [
                "anthropic.claude-3-5-haiku-20241022-v1:0": ["document"],
                "amazon.nova-micro-v1:0": ["document"],
                "amazon.nova-lite-v1:0": ["image", "document", "video"],
                "amazon.nova-pro-v1:0": ["image", "document", "video"],
                "amazon.titan-text-express-v1": [], "amazon.titan-text-lite-v1": [],
                "meta.llama3-8b-instruct-v1:0": ["document"], "meta.llama3-1-70b-instruct-v1:0": ["document"],
                "mistral.mistral-7b-instruct-v0:2": ["document"], "mistral.mistral-large-2402-v1:0": ["document"],
                "cohere.command-r-v1:0": ["document"], "cohere.command-r-plus-v1:0": ["document"],
                "amazon.nova-2-lite-v1:0": ["image", "document", "video"],
                "amazon.nova-premier-v1:0": ["image", "document", "video"],
                "openai.gpt-oss-120b-1:0": ["document"], "openai.gpt-oss-20b-1:0": ["document"],
                "deepseek.r1-v1:0": ["document"], "deepseek.v3-v1:0": ["document"],
                "qwen.qwen3-32b-v1:0": ["document"], "qwen.qwen3-coder-480b-a35b-v1:0": ["document"],
            ], default: ["image", "document"],
            [

                claude("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", max: 4096),
                claude("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", max: 8192),
                claude("anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", max: 4096),
                claude("anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", max: 8192),
                claude("anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude 3.7 Sonnet", max: 64000, reasoning: true),
                claude("anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4", max: 64000, reasoning: true),
                claude("anthropic.claude-opus-4-20250514-v1:0", "Claude Opus 4", max: 32000, reasoning: true),
                claude("anthropic.claude-opus-4-1-20250805-v1:0", "Claude Opus 4.1", max: 32000, reasoning: true),
                claude("anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5", max: 64000, reasoning: true),
                claude("anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5", max: 64000, reasoning: true),
                claude("anthropic.claude-opus-4-5-20251101-v1:0", "Claude Opus 4.5", max: 64000, reasoning: true),
                text("amazon.nova-micro-v1:0", "Nova Micro", "Amazon", .amazonNova, max: 10000, tools: true),
                text("amazon.nova-lite-v1:0", "Nova Lite", "Amazon", .amazonNova, max: 10000, tools: true),
                text("amazon.nova-pro-v1:0", "Nova Pro", "Amazon", .amazonNova, max: 10000, tools: true),
                text("amazon.nova-premier-v1:0", "Nova Premier", "Amazon", .amazonNova, max: 32000, tools: true),
                text("amazon.nova-2-lite-v1:0", "Nova 2 Lite", "Amazon", .amazonNova, max: 65536, tools: true),
                text(
                    "amazon.titan-text-express-v1", "Titan Text G1 - Express", "Amazon", .amazonTitanText,
                    max: 8192, tools: false, system: false),
                text(
                    "amazon.titan-text-lite-v1", "Titan Text G1 - Lite", "Amazon", .amazonTitanText,
                    max: 4096, tools: false, system: false),
                embed(
                    "amazon.titan-embed-text-v1", "Titan Embeddings G1 - Text", "Amazon", .amazonTitanEmbeddings, 1536),
                embed(
                    "amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", .amazonTitanEmbeddings, 1024),
                text(
                    "meta.llama3-8b-instruct-v1:0", "Llama 3 8B Instruct", "Meta", .metaLlama, max: 2048, tools: false),
                text(
                    "meta.llama3-1-70b-instruct-v1:0", "Llama 3.1 70B Instruct", "Meta", .metaLlama, max: 2048,
                    tools: true),
                text(
                    "meta.llama4-scout-17b-instruct-v1:0", "Llama 4 Scout 17B Instruct", "Meta", .metaLlama, max: 8192,
                    tools: true),
                text(
                    "meta.llama4-maverick-17b-instruct-v1:0", "Llama 4 Maverick 17B Instruct", "Meta", .metaLlama,
                    max: 8192, tools: true),
                text("openai.gpt-oss-120b-1:0", "gpt-oss-120b", "OpenAI", .openAIChat, max: 32768, tools: true),
                text("openai.gpt-oss-20b-1:0", "gpt-oss-20b", "OpenAI", .openAIChat, max: 32768, tools: true),
                text("deepseek.r1-v1:0", "DeepSeek-R1", "DeepSeek", .openAIChat, max: 32768, tools: false),
                text("deepseek.v3-v1:0", "DeepSeek-V3.1", "DeepSeek", .openAIChat, max: 32768, tools: true),
                text("qwen.qwen3-32b-v1:0", "Qwen3 32B", "Qwen", .openAIChat, max: 32768, tools: true),
                text(
                    "qwen.qwen3-coder-480b-a35b-v1:0", "Qwen3 Coder 480B A35B", "Qwen", .openAIChat, max: 65536,
                    tools: true),
                text(
                    "mistral.mistral-7b-instruct-v0:2", "Mistral 7B Instruct", "Mistral AI", .mistral, max: 8192,
                    tools: false),
                text(
                    "mistral.mistral-large-2402-v1:0", "Mistral Large (24.02)", "Mistral AI", .mistral, max: 8192,
                    tools: true),
                text("cohere.command-r-v1:0", "Command R", "Cohere", .cohereCommand, max: 4000, tools: true),
                text("cohere.command-r-plus-v1:0", "Command R+", "Cohere", .cohereCommand, max: 4000, tools: true),
                embed("cohere.embed-english-v3", "Embed English", "Cohere", .cohereEmbed, 1024),
                embed("cohere.embed-multilingual-v3", "Embed Multilingual", "Cohere", .cohereEmbed, 1024),
                ModelDescriptor(
                    id: "amazon.nova-reel-v1:1", name: "Nova Reel", provider: "Amazon", family: .amazonNovaReel,
                    maxOutputTokens: 0, defaultMaxTokens: 0, supportsToolUse: false, supportsReasoning: false,
                    supportsSystemPrompt: false, embeddingDimensions: nil),
                ModelDescriptor(
                    id: "amazon.nova-sonic-v1:0", name: "Nova Sonic", provider: "Amazon", family: .amazonNovaSonic,
                    maxOutputTokens: 1024, defaultMaxTokens: 1024, supportsToolUse: true, supportsReasoning: false,
                    supportsSystemPrompt: true, embeddingDimensions: nil, inputModalities: ["audio"]),
            ]))

    private static func modalities(
        _ table: [String: Set<String>], default fallback: Set<String>,
        _ models: [ModelDescriptor]
    ) -> [ModelDescriptor] {
        models.map { model in
            var model = model
            if model.family.generatesText { model.inputModalities = table[model.id] ?? fallback }
            return model
        }
    }

    private static func claude(_ id: String, _ name: String, max: Int, reasoning: Bool = false) -> ModelDescriptor {
        ModelDescriptor(
            id: id, name: name, provider: "Anthropic", family: .anthropicClaude,
            maxOutputTokens: max, defaultMaxTokens: min(max, 4096), supportsToolUse: true,
            supportsReasoning: reasoning, supportsSystemPrompt: true, embeddingDimensions: nil)
    }

    private static func text(
        _ id: String, _ name: String, _ provider: String, _ family: ModelFamily,
        max: Int, tools: Bool, system: Bool = true
    ) -> ModelDescriptor {
        ModelDescriptor(
            id: id, name: name, provider: provider, family: family, maxOutputTokens: max,
            defaultMaxTokens: min(max, 2048), supportsToolUse: tools, supportsReasoning: false,
            supportsSystemPrompt: system, embeddingDimensions: nil)
    }

    private static func embed(
        _ id: String, _ name: String, _ provider: String, _ family: ModelFamily,
        _ dimensions: Int
    ) -> ModelDescriptor {
        ModelDescriptor(
            id: id, name: name, provider: provider, family: family, maxOutputTokens: 0,
            defaultMaxTokens: 0, supportsToolUse: false, supportsReasoning: false,
            supportsSystemPrompt: false, embeddingDimensions: dimensions)
    }
}

extension ModelDescriptor {
    /// A model declared by the user (the emulator's config-file `models` list); what it
    /// serves follows from `family`, like a built-in model's.
    public static func declared(
        id: String, name: String, provider: String, family: ModelFamily, maxOutputTokens: Int,
        defaultMaxTokens: Int, supportsToolUse: Bool, supportsReasoning: Bool,
        supportsSystemPrompt: Bool, embeddingDimensions: Int?,
        inputModalities: Set<String>
    ) -> ModelDescriptor {
        ModelDescriptor(
            id: id, name: name, provider: provider, family: family, maxOutputTokens: maxOutputTokens,
            defaultMaxTokens: defaultMaxTokens, supportsToolUse: supportsToolUse,
            supportsReasoning: supportsReasoning, supportsSystemPrompt: supportsSystemPrompt,
            embeddingDimensions: embeddingDimensions, inputModalities: inputModalities)
    }
}
