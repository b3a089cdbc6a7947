import Foundation

/// Who a target's calls go out as: never a secret, at most a masked key id
/// (`AKIA…WXYZ`), where the credentials came from and when they expire.
public struct CallerIdentity: Sendable, Hashable {
    /// The region calls go to.
    public var region: String
    /// The key id, masked (the emulator's public `test` shown as is); nil for a bearer token.
    public var accessKeyId: String?
    /// `emulator`, `environment`, `profile:NAME` or `bearer-token`.
    public var source: String?
    /// When temporary credentials expire.
    public var expires: Date?
    /// Why no credentials could be resolved (the message names the problem, never a secret).
    public var error: String?

    /// An identity in `region`.
    public init(
        region: String, accessKeyId: String? = nil, source: String? = nil, expires: Date? = nil, error: String? = nil
    ) {
        self.region = region
        self.accessKeyId = accessKeyId
        self.source = source
        self.expires = expires
        self.error = error
    }
}

/// One model a target offers, as `bedrock.models()` lists it.
public struct ModelSummary: Sendable, Hashable {
    /// The model id (`amazon.nova-micro-v1:0`).
    public var id: String
    /// The provider's name for it.
    public var name: String
    /// The provider.
    public var provider: String
    /// The largest `maxTokens` it accepts.
    public var maxOutputTokens: Int
    /// Whether Converse takes tools for it.
    public var supportsToolUse: Bool
    /// Whether it can emit reasoning.
    public var supportsReasoning: Bool

    /// A model summary.
    public init(
        id: String, name: String, provider: String, maxOutputTokens: Int, supportsToolUse: Bool, supportsReasoning: Bool
    ) {
        self.id = id
        self.name = name
        self.provider = provider
        self.maxOutputTokens = maxOutputTokens
        self.supportsToolUse = supportsToolUse
        self.supportsReasoning = supportsReasoning
    }

    /// The summary of a catalog entry.
    public init(_ model: ModelDescriptor) {
        self.init(
            id: model.id, name: model.name, provider: model.provider, maxOutputTokens: model.maxOutputTokens,
            supportsToolUse: model.supportsToolUse, supportsReasoning: model.supportsReasoning)
    }
}
