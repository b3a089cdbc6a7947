import Foundation

/// What `CountTokens` counts: an InvokeModel body or a Converse input.
public enum CountTokensInput: Codable, Hashable, Sendable {
    /// An InvokeModel body (`{"invokeModel": {"body": <bytes>}}`).
    case invokeModel(body: Data)
    /// Converse messages and system prompt.
    case converse(messages: [Message]?, system: [SystemContentBlock]?)
    case unknown(String, JSONValue)

    struct InvokeBody: Codable { var body: Data }
    struct ConverseInput: Codable { var messages: [Message]?; var system: [SystemContentBlock]? }

    public init(from decoder: any Decoder) throws {
        let (name, c, key) = try UnionCoding.member(of: decoder, union: "CountTokensInput")
        switch name {
        case "invokeModel": self = .invokeModel(body: try c.decode(InvokeBody.self, forKey: key).body)
        case "converse":
            let v = try c.decode(ConverseInput.self, forKey: key)
            self = .converse(messages: v.messages, system: v.system)
        default: self = .unknown(name, try c.decode(JSONValue.self, forKey: key))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .invokeModel(body): try UnionCoding.encode(InvokeBody(body: body), as: "invokeModel", to: encoder)
        case let .converse(m, s):
            try UnionCoding.encode(ConverseInput(messages: m, system: s), as: "converse", to: encoder)
        case let .unknown(n, v): try UnionCoding.encode(v, as: n, to: encoder)
        }
    }
}

/// The input of `CountTokens`.
public struct CountTokensRequest: Codable, Hashable, Sendable {
    public var modelId: String
    public var input: CountTokensInput
    public init(modelId: String, input: CountTokensInput) { self.modelId = modelId; self.input = input }
}

/// The output of `CountTokens`.
public struct CountTokensResponse: Codable, Hashable, Sendable {
    public var inputTokens: Int
}
