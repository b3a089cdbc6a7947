import Crypto
import Foundation

/// The chained signature of one event-stream message (the AWS SDKs' event signing
/// for bidirectional streams): the value of its `:date` header and of its
/// `:chunk-signature` header.
public struct SigV4EventSignature: Sendable, Hashable {
    /// The `:date` header value: milliseconds since 1970 (header type timestamp).
    public let dateMilliseconds: Int64
    /// The `:chunk-signature` header value: 32 raw bytes (header type byte array).
    public let signature: [UInt8]

    /// The signature as lower-case hex (the next message's "prior signature").
    public var signatureHex: String { SigV4Crypto.hex(signature) }
}

/// Signs the messages of an event-stream request body one after another.
///
/// Each message (already encoded as an event-stream message) is wrapped by the
/// caller in an outer message whose headers are `:date` (timestamp) and
/// `:chunk-signature` (bytes) and whose payload is the inner message. The signature
/// is `HMAC(signingKey, stringToSign)` with
///
///     AWS4-HMAC-SHA256-PAYLOAD
///     <:date as YYYYMMDDTHHMMSSZ>
///     <YYYYMMDD/region/service/aws4_request>
///     <previous signature, hex — the request's signature for the first message>
///     <hex SHA-256 of the encoded :date header>
///     <hex SHA-256 of the inner message bytes>
///
/// The stream ends with a signed message whose payload is empty. The request itself
/// is signed with `SigV4Payload.signedEvents`.
public struct SigV4EventSigner: Sendable {
    private let credentials: SigV4Credentials
    private let region: String
    private let service: String
    private var keys: SigV4SigningKeyCache
    /// The signature the next message chains from (hex).
    public private(set) var priorSignature: String

    /// A signer continuing from the request signature `seedSignature` (hex, from
    /// `SigV4SignedRequest.signature`).
    public init(
        credentials: SigV4Credentials, region: String, service: String = BedrockWire.signingName,
        seedSignature: String
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.priorSignature = seedSignature
        self.keys = SigV4SigningKeyCache()
    }

    /// Signs the next message's `payload` (the encoded inner message; empty for the
    /// closing message) at `date`, and advances the chain.
    public mutating func sign<D: DataProtocol>(payload: D, at date: Date) -> SigV4EventSignature {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let key = keys.key(
            for: credentials, date: SigV4EventChain.scopeDate(milliseconds), region: region, service: service)
        let signature = SigV4EventChain.signature(
            payload: payload, dateMilliseconds: milliseconds, prior: priorSignature,
            region: region, service: service, key: key)
        priorSignature = SigV4Crypto.hex(signature)
        return SigV4EventSignature(dateMilliseconds: milliseconds, signature: signature)
    }
}

/// Checks the chained signatures of the event messages of a verified request, in
/// order. Get one from `SigV4VerifiedRequest.eventVerifier()`.
public struct SigV4EventVerifier: Sendable {
    private let credentials: SigV4Credentials
    private let region: String
    private let service: String
    private let allowedClockSkew: TimeInterval
    private var keys: SigV4SigningKeyCache
    /// The signature the next message must chain from (hex).
    public private(set) var priorSignature: String

    init(
        credentials: SigV4Credentials, region: String, service: String, seedSignature: String,
        allowedClockSkew: TimeInterval
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.allowedClockSkew = allowedClockSkew
        self.priorSignature = seedSignature
        self.keys = SigV4SigningKeyCache()
    }

    /// Verifies the next message: its inner `payload`, `:date` header value and
    /// `:chunk-signature` bytes. On success the chain advances; on failure it does not,
    /// and the error says whether the date was out of range or the signature wrong.
    public mutating func verify<D: DataProtocol>(
        payload: D, dateMilliseconds: Int64, signature: [UInt8],
        now: Date = Date()
    ) throws(SigV4VerificationError) {
        let seconds = dateMilliseconds >= 0 ? dateMilliseconds / 1000 : (dateMilliseconds - 999) / 1000
        let skewChecker = SigV4Verifier(allowedClockSkew: allowedClockSkew, secrets: { _ in nil })
        try skewChecker.checkSkew(SigV4Timestamp(secondsSince1970: seconds), now: now)
        let key = keys.key(
            for: credentials, date: SigV4EventChain.scopeDate(dateMilliseconds), region: region, service: service)
        let expected = SigV4EventChain.signature(
            payload: payload, dateMilliseconds: dateMilliseconds, prior: priorSignature,
            region: region, service: service, key: key)
        guard SigV4Crypto.constantTimeEquals(expected, signature) else {
            throw SigV4VerificationError(
                .invalidSignature,
                "The event signature we calculated does not match the ':chunk-signature' you provided.")
        }
        priorSignature = SigV4Crypto.hex(expected)
    }
}

/// The string to sign and signature of one event message.
enum SigV4EventChain {
    static func scopeDate(_ milliseconds: Int64) -> String {
        timestamp(milliseconds).scopeDate
    }

    static func timestamp(_ milliseconds: Int64) -> SigV4Timestamp {
        SigV4Timestamp(secondsSince1970: milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
    }

    /// The encoded `:date` header: name length, name, type 8 (timestamp), big-endian ms.
    static func encodedDateHeader(_ milliseconds: Int64) -> [UInt8] {
        var bytes: [UInt8] = [5] + Array(":date".utf8) + [8]
        let bits = UInt64(bitPattern: milliseconds)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
        return bytes
    }

    static func stringToSign<D: DataProtocol>(
        payload: D, dateMilliseconds: Int64, prior: String,
        region: String, service: String
    ) -> String {
        let stamp = timestamp(dateMilliseconds)
        return [
            "AWS4-HMAC-SHA256-PAYLOAD", stamp.amzDate, "\(stamp.scopeDate)/\(region)/\(service)/aws4_request",
            prior, SigV4Crypto.sha256Hex(encodedDateHeader(dateMilliseconds)), SigV4Crypto.sha256Hex(payload),
        ].joined(separator: "\n")
    }

    static func signature<D: DataProtocol>(
        payload: D, dateMilliseconds: Int64, prior: String, region: String,
        service: String, key: SymmetricKey
    ) -> [UInt8] {
        let text = stringToSign(
            payload: payload, dateMilliseconds: dateMilliseconds, prior: prior,
            region: region, service: service)
        return SigV4Crypto.hmac(Array(text.utf8), key: key)
    }
}

/// Remembers the last derived signing key so a stream does not derive one per message.
struct SigV4SigningKeyCache: Sendable {
    private var date = ""
    private var key: SymmetricKey?

    mutating func key(for credentials: SigV4Credentials, date: String, region: String, service: String) -> SymmetricKey
    {
        if let key, self.date == date { return key }
        let derived = SigV4Crypto.signingKey(
            secret: credentials.secretAccessKey, scopeDate: date, region: region, service: service)
        self.date = date
        key = derived
        return derived
    }
}
