import Foundation

/// Authorises an outgoing Bedrock Runtime request exactly as the boto3
/// `bedrock-runtime` client does, producing the header list it hands to the HTTP
/// layer (`client[].expected.headers_sent` in the shared vectors):
///
/// 1. the operation's headers as serialised (`Content-Type`, `Accept`,
///    `X-Amzn-Bedrock-*`…) followed by `User-Agent` — these are the headers the
///    signer sees (`User-Agent` is never signed);
/// 2. the signer's headers: `X-Amz-Date`, `X-Amz-Security-Token` (temporary
///    credentials), `Authorization` — or just `Authorization: Bearer …` for an API key;
/// 3. added after signing, unsigned: `amz-sdk-invocation-id`, `amz-sdk-request`
///    (`attempt=N; max=M` on retries, `attempt=1` on the first try as botocore sends
///    it) and `Content-Length` when the body is not empty.
///
/// `Host` is not in the list: the HTTP client adds it; the signature covers the host
/// of `url`.
public enum BotocoreRequestSigning {
    /// How the request is authorised.
    public enum Authorization: Sendable {
        /// SigV4 with these credentials, region and signing name.
        case sigV4(SigV4Credentials, region: String, service: String = BedrockWire.signingName)
        /// `Authorization: Bearer <token>` (Bedrock API keys; wins over keys when set).
        case bearer(token: String)
    }

    /// The headers to send and, for SigV4, the signature details.
    public struct Result: Sendable {
        /// Every header to send, in botocore's order.
        public let headers: [(name: String, value: String)]
        /// The SigV4 details (nil for bearer auth).
        public let signed: SigV4SignedRequest?
    }

    /// Authorises a request.
    /// - Parameters:
    ///   - method: HTTP method.
    ///   - url: the full URL as it will be sent (path and query percent-encoded).
    ///   - headers: the serialised operation headers plus `User-Agent`, in order.
    ///   - body: the exact body bytes.
    ///   - payload: override for the payload hash (`.signedEvents` for bidirectional
    ///     streams); nil hashes `body`.
    ///   - invocationId: the `amz-sdk-invocation-id` (a UUID, the same on every retry).
    ///   - requestHeader: the `amz-sdk-request` value, e.g. `attempt=1` or `attempt=2; max=3`.
    ///   - date: the signing time.
    public static func authorize(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8],
        payload: SigV4Payload? = nil, authorization: Authorization, invocationId: String,
        requestHeader: String = "attempt=1", date: Date
    ) throws(SigV4SigningError) -> Result {
        var sent: [(name: String, value: String)]
        var signed: SigV4SignedRequest?
        switch authorization {
        case .sigV4(let credentials, let region, let service):
            let result = try SigV4Signer(region: region, service: service).sign(
                SigV4Request(method: method, url: url, headers: headers, payload: payload ?? .body(body)),
                with: credentials, at: date)
            sent = result.headers
            signed = result
        case .bearer(let token):
            sent = headers.filter { !$0.name.caseInsensitiveEquals("Authorization") }
            sent.append(("Authorization", "Bearer " + token))
        }
        sent.append(("amz-sdk-invocation-id", invocationId))
        sent.append(("amz-sdk-request", requestHeader))
        if !body.isEmpty { sent.append(("Content-Length", String(body.count))) }
        return Result(headers: sent, signed: signed)
    }
}

extension BotocoreRequestSigning.Authorization: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable
{
    /// `SigV4(AKIA…WXYZ, us-east-1/bedrock)` or `Bearer(***)`: never a secret.
    public var description: String {
        switch self {
        case .sigV4(let credentials, let region, let service):
            "SigV4(\(credentials.maskedAccessKeyId), \(region)/\(service))"
        case .bearer: "Bearer(\(SecretMasking.redacted))"
        }
    }

    public var debugDescription: String { description }

    /// What `dump()` shows: the description only.
    public var customMirror: Mirror { Mirror(self, children: ["auth": description]) }
}

extension BotocoreRequestSigning.Result: CustomStringConvertible, CustomReflectable {
    /// Header names only (values may hold tokens), plus the signature summary.
    public var description: String {
        "BotocoreRequestSigning.Result(headers: \(headers.map(\.name).joined(separator: ", ")), \(signed.map(\.description) ?? "bearer"))"
    }

    /// What `dump()` shows: the description only.
    public var customMirror: Mirror { Mirror(self, children: ["summary": description]) }
}
