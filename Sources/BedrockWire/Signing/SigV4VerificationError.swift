/// Why a received request's signature was rejected, in the terms AWS uses: the
/// error type (`x-amzn-ErrorType`), the HTTP status and a message in the service's
/// style. Never contains a secret, a session token or a bearer token.
public struct SigV4VerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// No `Authorization` header (and no other credential) at all.
        case missingAuthentication
        /// An `Authorization` header that lacks parts or is not SigV4.
        case incompleteSignature
        /// The access key id (or its session token) is not known.
        case unrecognizedClient
        /// The signature does not match, or the scope/headers are wrong.
        case invalidSignature
        /// The request was signed more than the allowed skew before now.
        case signatureExpired
        /// The request was signed more than the allowed skew after now.
        case signatureNotYetCurrent
        /// The credentials the key belongs to have expired.
        case expiredToken
    }

    /// What went wrong.
    public let kind: Kind
    /// AWS's message for it.
    public let message: String
    /// For `invalidSignature`: the canonical request the server computed (the one it
    /// tried first), to help debug a client. It may contain the session token, so it
    /// is not part of `description`.
    public let expectedCanonicalRequest: String?

    /// An error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String, expectedCanonicalRequest: String? = nil) {
        self.kind = kind
        self.message = message
        self.expectedCanonicalRequest = expectedCanonicalRequest
    }

    /// The AWS error type for `x-amzn-ErrorType` and the body's `__type`.
    public var errorType: String {
        switch kind {
        case .missingAuthentication: "MissingAuthenticationTokenException"
        case .incompleteSignature: "IncompleteSignatureException"
        case .unrecognizedClient: "UnrecognizedClientException"
        case .invalidSignature, .signatureExpired, .signatureNotYetCurrent: "InvalidSignatureException"
        case .expiredToken: "ExpiredTokenException"
        }
    }

    /// The HTTP status AWS answers with.
    public var httpStatus: Int {
        switch kind {
        case .incompleteSignature: 400
        default: 403
        }
    }

    public var description: String { "\(errorType): \(message)" }

    static func missing() -> Self { .init(.missingAuthentication, "Missing Authentication Token") }

    static func unrecognized() -> Self {
        .init(.unrecognizedClient, "The security token included in the request is invalid.")
    }

    static func mismatch(canonicalRequest: String?) -> Self {
        .init(
            .invalidSignature,
            "The request signature we calculated does not match the signature you provided. "
                + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            expectedCanonicalRequest: canonicalRequest)
    }
}
