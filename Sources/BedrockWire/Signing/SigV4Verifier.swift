import Foundation

/// A request as a server received it, in raw wire form, for `SigV4Verifier`.
public struct SigV4ReceivedRequest: Sendable {
    /// The HTTP method as received.
    public var method: String
    /// The path exactly as on the request line (still percent-encoded), e.g.
    /// `/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse`.
    public var rawPath: String
    /// The query after `?`, exactly as received (empty when none).
    public var rawQuery: String
    /// Every header field as received, in order. Over HTTP/2, include `host` with the
    /// `:authority` value (a `:authority` entry is also accepted in its place).
    public var headers: [(name: String, value: String)]
    /// Lower-case hex SHA-256 of the received body; nil only for a streamed body that
    /// is not buffered, which must then carry `X-Amz-Content-SHA256`.
    public var bodySHA256: String?

    /// A received request from its parts.
    public init(
        method: String, rawPath: String, rawQuery: String, headers: [(name: String, value: String)], bodySHA256: String?
    ) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.bodySHA256 = bodySHA256
    }

    /// A received request from the request-line target (`/path?query`).
    public init(method: String, requestTarget: String, headers: [(name: String, value: String)], bodySHA256: String?) {
        if let question = requestTarget.firstIndex(of: "?") {
            self.init(
                method: method, rawPath: String(requestTarget[..<question]),
                rawQuery: String(requestTarget[requestTarget.index(after: question)...]),
                headers: headers, bodySHA256: bodySHA256)
        } else {
            self.init(method: method, rawPath: requestTarget, rawQuery: "", headers: headers, bodySHA256: bodySHA256)
        }
    }

    /// Computes `bodySHA256` from a buffered body.
    public static func sha256Hex<D: DataProtocol>(ofBody body: D) -> String { SigV4Crypto.sha256Hex(body) }

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }
}

/// Looks up the credentials that own an access key id; nil when the key is unknown.
/// A returned session token must then be presented by the request, and a returned
/// expiry is enforced.
public typealias SigV4SecretLookup = @Sendable (_ accessKeyId: String) -> SigV4Credentials?

/// Checks SigV4 signatures on received requests, as AWS does: parses the
/// `Authorization` header, checks the date is within the allowed clock skew, looks
/// the key up, checks the session token and the credential scope, then recomputes
/// the signature.
///
/// For non-canonical input where AWS's SDKs disagree (`implementations-differ` in the
/// shared vectors) a request is accepted when it matches either botocore's
/// canonicalisation (query copied verbatim) or the AWS CRT's (query decoded and
/// re-encoded strictly). Errors say which check failed, with AWS's error type and
/// message.
public struct SigV4Verifier: Sendable {
    /// The signing name requests must be scoped to (`bedrock`).
    public let service: String
    /// Regions requests may be scoped to; nil accepts any well-formed region.
    public let regions: Set<String>?
    /// How far the signing time may be from the server's clock (AWS: 5 minutes).
    public let allowedClockSkew: TimeInterval
    /// How the path enters the canonical request: normalised and encoded once more
    /// (every service but S3), or exactly as sent (S3, whose keys keep `//` and `.`).
    public let pathCanonicalization: SigV4PathCanonicalization
    private let secrets: SigV4SecretLookup

    /// A verifier for `service`, accepting `regions` (nil: any), with `secrets`
    /// resolving access key ids.
    public init(
        service: String = BedrockWire.signingName, regions: Set<String>? = nil,
        allowedClockSkew: TimeInterval = 300, pathCanonicalization: SigV4PathCanonicalization = .normalizedAndEncoded,
        secrets: @escaping SigV4SecretLookup
    ) {
        self.service = service
        self.pathCanonicalization = pathCanonicalization
        self.regions = regions
        self.allowedClockSkew = allowedClockSkew
        self.secrets = secrets
    }

    /// Verifies `request` against the clock reading `now`; returns who signed it and
    /// the seed for event-stream chained signatures, or throws the AWS error.
    public func verify(_ request: SigV4ReceivedRequest, now: Date = Date()) throws(SigV4VerificationError)
        -> SigV4VerifiedRequest
    {
        guard let header = request.values("Authorization").first else { throw .missing() }
        let authorization = try SigV4AuthorizationHeader(parsing: header)

        // The signing time: X-Amz-Date wins over Date (the CRT adds X-Amz-Date even
        // when Date is present; botocore signs with a rewritten Date instead).
        let timestamp: SigV4Timestamp
        if let amzDate = request.values("X-Amz-Date").first {
            guard let parsed = SigV4Timestamp(amzDate: amzDate.trimmingCharacters(in: .whitespaces)) else {
                throw SigV4VerificationError(
                    .incompleteSignature,
                    "Date must be in ISO-8601 'basic format'. Got '\(amzDate)'. See http://en.wikipedia.org/wiki/ISO_8601"
                )
            }
            timestamp = parsed
        } else if let httpDate = request.values("Date").first {
            guard let parsed = SigV4Timestamp(httpDate: httpDate.trimmingCharacters(in: .whitespaces)) else {
                throw SigV4VerificationError(
                    .incompleteSignature, "Date header '\(httpDate)' is not a valid HTTP date.")
            }
            timestamp = parsed
        } else {
            throw SigV4VerificationError(
                .incompleteSignature,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        try checkSkew(timestamp, now: now)

        let scope = authorization.scope
        guard scope.date == timestamp.scopeDate else {
            throw SigV4VerificationError(
                .invalidSignature,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                    + "'\(scope.date)' != '\(timestamp.scopeDate)', from '\(timestamp.amzDate)'.")
        }
        guard scope.terminator == "aws4_request" else {
            throw SigV4VerificationError(
                .invalidSignature,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '\(scope.terminator)'.")
        }
        guard scope.service == service else {
            throw SigV4VerificationError(
                .invalidSignature, "Credential should be scoped to correct service: '\(service)'. ")
        }
        guard RegionNameRule.isWellFormed(scope.region), regions.map({ $0.contains(scope.region) }) ?? true else {
            throw SigV4VerificationError(.invalidSignature, "Credential should be scoped to a valid region. ")
        }
        guard authorization.signedHeaders.contains("host") || authorization.signedHeaders.contains(":authority") else {
            throw SigV4VerificationError(
                .invalidSignature,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        }

        guard let credentials = secrets(scope.accessKeyId) else { throw .unrecognized() }
        let presentedToken = request.values("X-Amz-Security-Token").first
        switch (credentials.sessionToken, presentedToken) {
        case (nil, nil):
            break
        case (let expected?, let presented?)
        where SigV4Crypto.constantTimeEquals(Array(expected.utf8), Array(presented.utf8)):
            break
        default:
            throw .unrecognized()
        }
        if credentials.isExpired(at: now) {
            throw SigV4VerificationError(.expiredToken, "The security token included in the request is expired")
        }

        let payloadHash = try payloadHash(of: request)
        let canonicalHeaders = signedHeaderValues(request, names: authorization.signedHeaders)
        let (headerBlock, signedList) = SigV4Canonicalization.canonicalHeaders(canonicalHeaders)
        let canonicalURI =
            switch pathCanonicalization {
            case .normalizedAndEncoded: SigV4Canonicalization.canonicalURI(rawPath: request.rawPath)
            case .asSent: request.rawPath.isEmpty ? "/" : request.rawPath
            }
        let key = SigV4Crypto.signingKey(
            secret: credentials.secretAccessKey, scopeDate: scope.date,
            region: scope.region, service: scope.service)
        let presented = SigV4Crypto.bytes(hex: authorization.signature) ?? []
        let queries = [
            (SigV4CanonicalizationVariant.botocore, SigV4Canonicalization.canonicalQuery(rawQuery: request.rawQuery)),
            (SigV4CanonicalizationVariant.crt, SigV4Canonicalization.crtCanonicalQuery(rawQuery: request.rawQuery)),
        ]
        var firstCanonicalRequest: String?
        var tried: Set<String> = []
        for (variant, query) in queries where tried.insert(query).inserted {
            let canonicalRequest = [
                request.method.uppercased(), canonicalURI, query, headerBlock + "\n", signedList, payloadHash,
            ].joined(separator: "\n")
            firstCanonicalRequest = firstCanonicalRequest ?? canonicalRequest
            let stringToSign = [
                "AWS4-HMAC-SHA256", timestamp.amzDate, scope.string,
                SigV4Crypto.sha256Hex(Array(canonicalRequest.utf8)),
            ].joined(separator: "\n")
            let computed = SigV4Crypto.hmac(Array(stringToSign.utf8), key: key)
            if SigV4Crypto.constantTimeEquals(computed, presented) {
                return SigV4VerifiedRequest(
                    accessKeyId: scope.accessKeyId, region: scope.region, service: scope.service,
                    timestamp: timestamp, signature: SigV4Crypto.hex(computed),
                    signedHeaders: authorization.signedHeaders, payloadHash: payloadHash,
                    canonicalization: variant, credentials: credentials, allowedClockSkew: allowedClockSkew)
            }
        }
        throw .mismatch(canonicalRequest: firstCanonicalRequest)
    }

    func checkSkew(_ timestamp: SigV4Timestamp, now: Date) throws(SigV4VerificationError) {
        let nowStamp = SigV4Timestamp(now)
        let skew = Int64(allowedClockSkew)
        let minutes = Int(allowedClockSkew / 60)
        if timestamp.secondsSince1970 < nowStamp.secondsSince1970 - skew {
            let earliest = SigV4Timestamp(secondsSince1970: nowStamp.secondsSince1970 - skew)
            throw SigV4VerificationError(
                .signatureExpired,
                "Signature expired: \(timestamp.amzDate) is now earlier than \(earliest.amzDate) "
                    + "(\(nowStamp.amzDate) - \(minutes) min.)")
        }
        if timestamp.secondsSince1970 > nowStamp.secondsSince1970 + skew {
            let latest = SigV4Timestamp(secondsSince1970: nowStamp.secondsSince1970 + skew)
            throw SigV4VerificationError(
                .signatureNotYetCurrent,
                "Signature not yet current: \(timestamp.amzDate) is still later than \(latest.amzDate) "
                    + "(\(nowStamp.amzDate) + \(minutes) min.)")
        }
    }

    private func payloadHash(of request: SigV4ReceivedRequest) throws(SigV4VerificationError) -> String {
        if let declared = request.values("X-Amz-Content-SHA256").first {
            let isHash = declared.utf8.count == 64 && SigV4Crypto.bytes(hex: declared) != nil
            if isHash, let actual = request.bodySHA256, actual.lowercased() != declared.lowercased() {
                throw SigV4VerificationError(
                    .invalidSignature,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
            return declared
        }
        guard let actual = request.bodySHA256 else {
            throw SigV4VerificationError(
                .invalidSignature,
                "A streamed request body requires the 'x-amz-content-sha256' header.")
        }
        return actual
    }

    private func signedHeaderValues(_ request: SigV4ReceivedRequest, names: [String]) -> [(name: String, value: String)]
    {
        var result: [(name: String, value: String)] = []
        for name in names {
            var values = request.values(name)
            if values.isEmpty, name == "host" { values = request.values(":authority") }
            if values.isEmpty { values = [""] }
            result.append(contentsOf: values.map { (name, $0) })
        }
        return result
    }
}

/// How a verifier puts the request path into the canonical request.
public enum SigV4PathCanonicalization: String, Sendable, Hashable {
    /// Dot and empty segments removed, then percent-encoded once more (botocore's
    /// `SigV4Auth`; Bedrock and most services).
    case normalizedAndEncoded
    /// The raw path as sent, untouched (botocore's `S3SigV4Auth`).
    case asSent
}

/// Which canonicalisation a verified request matched.
public enum SigV4CanonicalizationVariant: String, Sendable, Hashable {
    /// botocore's: the raw query copied verbatim.
    case botocore
    /// The AWS CRT's: query keys and values decoded and re-encoded strictly.
    case crt
}

/// A request whose signature checked out: who signed it, for which scope, and what
/// is needed to verify the event-stream messages that follow it.
public struct SigV4VerifiedRequest: Sendable, CustomStringConvertible {
    /// The access key id that signed the request.
    public let accessKeyId: String
    /// The region of the credential scope.
    public let region: String
    /// The signing name of the credential scope.
    public let service: String
    /// The signing time.
    public let timestamp: SigV4Timestamp
    /// The request signature (lower-case hex): the seed of an event stream's chain.
    public let signature: String
    /// The signed header names.
    public let signedHeaders: [String]
    /// The payload hash that was signed (a hex hash or a literal such as
    /// `STREAMING-AWS4-HMAC-SHA256-EVENTS`).
    public let payloadHash: String
    /// Which canonicalisation the signature matched.
    public let canonicalization: SigV4CanonicalizationVariant
    let credentials: SigV4Credentials
    let allowedClockSkew: TimeInterval

    /// True when the body is a stream of individually signed event messages.
    public var hasSignedEventPayload: Bool { payloadHash == "STREAMING-AWS4-HMAC-SHA256-EVENTS" }

    /// A verifier for the chained signatures of the event messages in this request's body.
    public func eventVerifier() -> SigV4EventVerifier {
        SigV4EventVerifier(
            credentials: credentials, region: region, service: service,
            seedSignature: signature, allowedClockSkew: allowedClockSkew)
    }

    public var description: String {
        "SigV4VerifiedRequest(\(SecretMasking.maskKeyId(accessKeyId)), \(timestamp.scopeDate)/\(region)/\(service), \(canonicalization))"
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
struct SigV4AuthorizationHeader {
    struct Scope {
        let accessKeyId: String
        let date: String
        let region: String
        let service: String
        let terminator: String
        var string: String { "\(date)/\(region)/\(service)/\(terminator)" }
    }

    let scope: Scope
    let signedHeaders: [String]
    let signature: String

    init(parsing header: String) throws(SigV4VerificationError) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("AWS4-HMAC-SHA256 ") else {
            let scheme = trimmed.split(separator: " ").first.map(String.init) ?? ""
            let shown = scheme.count <= 32 ? scheme : String(scheme.prefix(32)) + "…"
            throw SigV4VerificationError(
                .incompleteSignature,
                "Unsupported Authorization Type: '\(shown)'; expected 'AWS4-HMAC-SHA256'.")
        }
        var fields: [String: String] = [:]
        for part in trimmed.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard let equals = item.firstIndex(of: "=") else { continue }
            fields[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        var missing: [String] = []
        for name in ["Credential", "Signature", "SignedHeaders"] where (fields[name] ?? "").isEmpty {
            missing.append("Authorization header requires '\(name)' parameter.")
        }
        guard missing.isEmpty, let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else {
            throw SigV4VerificationError(.incompleteSignature, missing.joined(separator: " "))
        }
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, !parts[0].isEmpty else {
            throw SigV4VerificationError(
                .incompleteSignature,
                "Credential should be of the form <access key id>/<date>/<region>/<service>/aws4_request; "
                    + "got \(parts.count) '/'-separated parts.")
        }
        scope = Scope(accessKeyId: parts[0], date: parts[1], region: parts[2], service: parts[3], terminator: parts[4])
        self.signedHeaders = signedHeaders.split(separator: ";").map { $0.lowercased() }
        self.signature = signature
    }
}

/// The shape AWS region names take (`us-east-1`, `us-gov-west-1`, `cn-north-1`, …):
/// lower-case letters, digits and inner hyphens, 1–63 characters.
public enum RegionNameRule {
    /// True when `region` is shaped like a region name (it may still not exist).
    public static func isWellFormed(_ region: String) -> Bool {
        let bytes = Array(region.utf8)
        guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }
}
