import Foundation

/// One HTTP request as the SigV4 signer sees it: method, full URL (raw, already
/// percent-encoded), headers in order (repeated names allowed) and the payload hash.
public struct SigV4Request: Sendable {
    /// The HTTP method; upper-cased in the canonical request.
    public var method: String
    /// The full URL exactly as it will be sent, e.g.
    /// `https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A0/converse`.
    public var url: String
    /// Header fields in the order they will be sent.
    public var headers: [(name: String, value: String)]
    /// What goes into the canonical request as the payload hash.
    public var payload: SigV4Payload

    /// A request to sign.
    public init(method: String, url: String, headers: [(name: String, value: String)] = [], payload: SigV4Payload) {
        self.method = method
        self.url = url
        self.headers = headers
        self.payload = payload
    }
}

/// The payload part of a signature.
public enum SigV4Payload: Sendable, Hashable {
    /// The body's SHA-256 in lower-case hex (use `body(_:)` to compute it).
    case sha256Hex(String)
    /// Payload signing disabled: the signer adds `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD`
    /// and signs that literal instead of a hash (botocore's `payload_signing_enabled=False`).
    case unsigned
    /// An event-stream body whose messages are signed one by one with
    /// `SigV4EventSigner`: the signer adds
    /// `X-Amz-Content-SHA256: STREAMING-AWS4-HMAC-SHA256-EVENTS`.
    case signedEvents

    /// The payload of a buffered body, hashed now.
    public static func body<D: DataProtocol>(_ bytes: D) -> SigV4Payload {
        .sha256Hex(SigV4Crypto.sha256Hex(bytes))
    }

    /// The payload of an empty body.
    public static let empty = SigV4Payload.sha256Hex(SigV4Canonicalization.emptyPayloadHash)

    /// The `X-Amz-Content-SHA256` value the signer adds for this payload, if any.
    var contentSHA256Header: String? {
        switch self {
        case .sha256Hex: nil
        case .unsigned: "UNSIGNED-PAYLOAD"
        case .signedEvents: "STREAMING-AWS4-HMAC-SHA256-EVENTS"
        }
    }
}
