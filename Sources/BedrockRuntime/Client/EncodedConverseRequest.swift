/// A Converse request encoded once: the typed request and its JSON. For callers that need
/// the JSON themselves (to measure, log or audit the request): handing this to
/// `BedrockRuntimeClient.converse(_:options:)` sends that JSON instead of encoding the
/// request a second time.
public struct EncodedConverseRequest: Sendable {
    /// The typed request.
    public let request: ConverseRequest
    /// `request` as JSON, `modelId` included: exactly what the client would encode.
    public let json: JSONValue

    /// Encodes `request`; an `invalidRequest` error if it does not encode.
    public init(_ request: ConverseRequest) throws {
        self.request = request
        do {
            json = try JSONValueEncoder().encode(request)
        } catch {
            throw BedrockError.invalidRequest("Converse input could not be encoded: \(error)")
        }
    }
}
