import Foundation

/// A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), sent as `Authorization: Bearer …`
/// instead of a SigV4 signature. Its value is never printed, dumped or encoded.
public struct BearerToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable, Encodable
{
    /// The token itself. Only the HTTP layer should read it.
    public let value: String

    /// A token; throws when it is empty or holds characters not allowed in a header.
    public init(_ value: String) throws(ConfigurationError) {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw .invalidValue(setting: "bearer token", source: "AWS_BEARER_TOKEN_BEDROCK", problem: "it is empty")
        }
        guard trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidValue(
                setting: "bearer token", source: "AWS_BEARER_TOKEN_BEDROCK",
                problem: "it contains spaces or non-ASCII characters")
        }
        self.value = trimmed
    }

    /// The `Authorization` header value.
    public var authorizationHeader: String { "Bearer " + value }

    public var description: String { "BearerToken(***)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["value": SecretMasking.redacted], displayStyle: .struct) }

    /// Encodes only `"***"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(SecretMasking.redacted)
    }
}
