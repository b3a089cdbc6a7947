import Foundation

/// Signs HTTP requests with AWS Signature Version 4 exactly as botocore's `SigV4Auth`
/// does: same canonical request, same signed headers, same header order after
/// signing. Verified against every `direct[]` case of the shared SigV4 vectors.
///
/// A signer is a plain value: region and signing name are fixed, credentials and
/// the time are passed to each `sign` call, so one signer serves every request of a
/// client and refreshed credentials need no new signer.
public struct SigV4Signer: Sendable, Hashable {
    /// The region in the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The signing name in the credential scope: `bedrock` for Bedrock Runtime.
    public let service: String
    /// How the path enters the canonical request (`.asSent` for S3).
    public let pathCanonicalization: SigV4PathCanonicalization

    /// A signer for `region` and `service` (default `bedrock`).
    public init(
        region: String, service: String = BedrockWire.signingName,
        pathCanonicalization: SigV4PathCanonicalization = .normalizedAndEncoded
    ) {
        self.region = region
        self.service = service
        self.pathCanonicalization = pathCanonicalization
    }

    /// Signs `request` with `credentials` as at `date`.
    ///
    /// Like botocore it removes any stale `Authorization`; sets `X-Amz-Date` (or, when
    /// the request already carries a `Date` header, rewrites that instead); replaces
    /// `X-Amz-Security-Token` when the credentials have a session token; adds
    /// `X-Amz-Content-SHA256` for unsigned or event-stream payloads; and appends
    /// `Authorization`. Headers botocore never signs (`User-Agent`, `Expect`,
    /// hop-by-hop…) are left out of the signature; a `Content-Length` present before
    /// signing is signed. The result carries the new header list and, for debugging,
    /// the canonical request and string to sign (never the secret or signing key).
    public func sign(_ request: SigV4Request, with credentials: SigV4Credentials, at date: Date)
        throws(SigV4SigningError) -> SigV4SignedRequest
    {
        guard !credentials.accessKeyId.isEmpty else { throw .incompleteCredentials("empty access key id") }
        guard !credentials.secretAccessKey.isEmpty else { throw .incompleteCredentials("empty secret access key") }
        try Self.validateScopePart(region, name: "region")
        try Self.validateScopePart(service, name: "service")
        let url = try SigV4URL(request.url)
        let timestamp = SigV4Timestamp(date)

        var headers = request.headers
        var added: [(name: String, value: String)] = []
        func remove(_ name: String) { headers.removeAll { $0.name.caseInsensitiveEquals(name) } }
        func add(_ name: String, _ value: String) {
            headers.append((name, value))
            added.append((name, value))
        }

        remove("Authorization")
        if headers.contains(where: { $0.name.caseInsensitiveEquals("Date") }) {
            remove("Date")
            add("Date", timestamp.rfc2822)
            remove("X-Amz-Date")
        } else {
            remove("X-Amz-Date")
            add("X-Amz-Date", timestamp.amzDate)
        }
        if let token = credentials.sessionToken {
            remove("X-Amz-Security-Token")
            add("X-Amz-Security-Token", token)
        }
        if let contentHeader = request.payload.contentSHA256Header {
            remove("X-Amz-Content-SHA256")
            add("X-Amz-Content-SHA256", contentHeader)
        }

        var toSign = headers.filter { !SigV4Canonicalization.unsignedHeaderNames.contains($0.name.lowercased()) }
        if !toSign.contains(where: { $0.name.caseInsensitiveEquals("host") }) {
            toSign.append(("host", url.signingHost))
        }
        let (canonicalHeaders, signedHeaders) = SigV4Canonicalization.canonicalHeaders(toSign)
        let payloadHash: String
        if let present = headers.first(where: { $0.name.caseInsensitiveEquals("X-Amz-Content-SHA256") }) {
            payloadHash = present.value  // botocore: a present header wins over the body
        } else if case .sha256Hex(let hash) = request.payload {
            payloadHash = hash
        } else {
            payloadHash = SigV4Canonicalization.emptyPayloadHash
        }

        let canonicalURI =
            switch pathCanonicalization {
            case .normalizedAndEncoded: SigV4Canonicalization.canonicalURI(rawPath: url.rawPath)
            case .asSent: url.rawPath.isEmpty ? "/" : url.rawPath
            }
        let canonicalQuery = SigV4Canonicalization.canonicalQuery(rawQuery: url.rawQuery)
        let canonicalRequest = [
            request.method.uppercased(), canonicalURI, canonicalQuery,
            canonicalHeaders + "\n", signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(timestamp.scopeDate)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp.amzDate, scope,
            SigV4Crypto.sha256Hex(Array(canonicalRequest.utf8)),
        ].joined(separator: "\n")
        let key = SigV4Crypto.signingKey(
            secret: credentials.secretAccessKey, scopeDate: timestamp.scopeDate,
            region: region, service: service)
        let signature = SigV4Crypto.hex(SigV4Crypto.hmac(Array(stringToSign.utf8), key: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        add("Authorization", authorization)

        return SigV4SignedRequest(
            headers: headers, addedHeaders: added, authorization: authorization, signature: signature,
            canonicalURI: canonicalURI, canonicalQuery: canonicalQuery, canonicalHeaders: canonicalHeaders,
            signedHeaders: signedHeaders, payloadHash: payloadHash, canonicalRequest: canonicalRequest,
            credentialScope: scope, stringToSign: stringToSign, timestamp: timestamp)
    }

    static func validateScopePart(_ value: String, name: String) throws(SigV4SigningError) {
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw .invalidScope("\(name) '\(value)' must be non-empty printable ASCII without '/'")
        }
    }
}

/// The outcome of `SigV4Signer.sign`: the headers to send and every intermediate
/// value of the signature, for debugging and for checking against test vectors.
/// Holds no secret (the session token appears only as the header botocore sends).
public struct SigV4SignedRequest: Sendable {
    /// The request's headers after signing, in botocore's order.
    public let headers: [(name: String, value: String)]
    /// Just the headers the signer set, in the order it set them.
    public let addedHeaders: [(name: String, value: String)]
    /// The `Authorization` header value.
    public let authorization: String
    /// The signature, lower-case hex. Seeds the chained signatures of an event stream.
    public let signature: String
    /// The canonical URI (path normalised and encoded once more).
    public let canonicalURI: String
    /// The canonical query string.
    public let canonicalQuery: String
    /// The canonical header block (without the trailing blank line).
    public let canonicalHeaders: String
    /// The `;`-separated signed header names.
    public let signedHeaders: String
    /// The payload hash (or `UNSIGNED-PAYLOAD` / `STREAMING-…` literal) that was signed.
    public let payloadHash: String
    /// The full canonical request.
    public let canonicalRequest: String
    /// `YYYYMMDD/region/service/aws4_request`.
    public let credentialScope: String
    /// The string to sign.
    public let stringToSign: String
    /// The signing time.
    public let timestamp: SigV4Timestamp
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        // ASCII on both sides (every header name in practice): compare bytes folded.
        var asciiEqual = true
        var allASCII = true
        for (a, b) in zip(utf8, other.utf8) {
            guard a < 0x80, b < 0x80 else { allASCII = false; break }
            let la = (a >= 0x41 && a <= 0x5A) ? a | 0x20 : a
            let lb = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
            if la != lb { asciiEqual = false }
        }
        if allASCII { return asciiEqual }
        return lowercased() == other.lowercased()
    }
}

extension SigV4SignedRequest: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Scope, signed headers and signature only: the canonical request and headers
    /// may hold a session token, so they are never part of the description.
    public var description: String {
        "SigV4SignedRequest(scope: \(credentialScope), signedHeaders: \(signedHeaders), signature: \(signature))"
    }

    public var debugDescription: String { description }

    /// What `dump()` shows: the same fields as `description`.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "credentialScope": credentialScope, "signedHeaders": signedHeaders,
                "signature": signature, "timestamp": timestamp.amzDate,
            ], displayStyle: .struct)
    }
}
