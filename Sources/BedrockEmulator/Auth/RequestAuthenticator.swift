import Foundation
import NIOHTTP1

/// Who made a request and which emulated region it addressed.
struct AuthenticatedCaller: Sendable {
    /// Masked access key id, or `bearer`.
    var principal: String
    var region: String
}

/// Authenticates requests like AWS's front end: SigV4 (header form) against the
/// configured key pairs, or a bearer token, with AWS's error for each failure.
struct RequestAuthenticator: Sendable {
    let configuration: EmulatorConfiguration

    static let signatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

    static func invalidSignature(_ message: String) -> ServiceError {
        ServiceError(name: "InvalidSignatureException", status: 403, message: message)
    }

    static let unrecognizedClient = ServiceError(name: "UnrecognizedClientException", status: 403,
                                                 message: "The security token included in the request is invalid.")

    func authenticate(_ request: EmulatorRequest) throws(ServiceError) -> AuthenticatedCaller {
        guard let authorization = request.headers.first(name: "authorization") else {
            throw ServiceError(name: "MissingAuthenticationTokenException", status: 403, message: "Missing Authentication Token")
        }
        if authorization.hasPrefix("Bearer ") {
            let token = String(authorization.dropFirst("Bearer ".count))
            guard configuration.bearerTokens.contains(token) else {
                throw Self.unrecognizedClient
            }
            return AuthenticatedCaller(principal: "bearer", region: regionFromHost(request) ?? defaultRegion)
        }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            throw ServiceError(name: "IncompleteSignatureException", status: 403,
                               message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
        }
        let parts = AuthorizationHeader(authorization)
        guard let credential = parts.credential, let signature = parts.signature, let signedHeaders = parts.signedHeaders else {
            throw ServiceError(name: "IncompleteSignatureException", status: 403,
                               message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=\(authorization.prefix(40))…")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            throw ServiceError(name: "IncompleteSignatureException", status: 403,
                               message: "Credential should be scoped to a valid region, not ''. ")
        }
        let (keyID, date, region, service) = (scope[0], scope[1], scope[2], scope[3])
        guard let key = configuration.credentials.first(where: { $0.accessKeyID == keyID }) else {
            throw Self.unrecognizedClient
        }
        if let expected = key.sessionToken, request.headers.first(name: "x-amz-security-token") != expected {
            throw Self.unrecognizedClient
        }
        if let expiration = key.expiration, expiration <= Date() {
            throw ServiceError(name: "ExpiredTokenException", status: 403, message: "The security token included in the request is expired")
        }
        guard configuration.regions.contains(region) else {
            throw Self.invalidSignature("Credential should be scoped to a valid region. ")
        }
        guard service == "bedrock" else {
            throw Self.invalidSignature("Credential should be scoped to correct service: 'bedrock'. ")
        }
        guard let amzDate = request.headers.first(name: "x-amz-date"), let signedAt = Self.parseAmzDate(amzDate),
              amzDate.hasPrefix(date) else {
            throw ServiceError(name: "IncompleteSignatureException", status: 403,
                               message: "Date must be in ISO-8601 'basic format'. Got '\(request.headers.first(name: "x-amz-date") ?? "")'. See http://en.wikipedia.org/wiki/ISO_8601")
        }
        let skew = configuration.clockSkew.components.seconds
        let now = Date()
        if signedAt.timeIntervalSince(now) > Double(skew) || now.timeIntervalSince(signedAt) > Double(skew) {
            throw Self.invalidSignature("Signature expired: \(amzDate) is now earlier than \(Self.formatAmzDate(now.addingTimeInterval(-Double(skew)))) (\(Self.formatAmzDate(now)) - \(skew / 60) min.)")
        }
        try SignatureCheck.verify(request: request, signedHeaders: signedHeaders, signature: signature,
                                  credential: key, scope: (date, region, service), amzDate: amzDate)
        return AuthenticatedCaller(principal: EmulatorCredential.mask(keyID), region: region)
    }

    private var defaultRegion: String { configuration.regions.first ?? "us-east-1" }

    /// `bedrock-runtime.REGION.amazonaws.com` names a region; loopback hosts do not.
    private func regionFromHost(_ request: EmulatorRequest) -> String? {
        guard let host = request.headers.first(name: "host") else { return nil }
        let labels = host.split(separator: ".")
        guard labels.count >= 3, labels[0] == "bedrock-runtime" else { return nil }
        let region = String(labels[1])
        return configuration.regions.contains(region) ? region : nil
    }

    static func parseAmzDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15) else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (year, month, day)
        (components.hour, components.minute, components.second) = (hour, minute, second)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.date(from: components)
    }

    static func formatAmzDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}

/// The `Credential=…, SignedHeaders=…, Signature=…` parameters of a SigV4 header.
struct AuthorizationHeader {
    var credential: String?
    var signedHeaders: String?
    var signature: String?

    init(_ header: String) {
        let parameters = header.dropFirst("AWS4-HMAC-SHA256 ".count)
        for part in parameters.split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "Credential": credential = String(pair[1])
            case "SignedHeaders": signedHeaders = String(pair[1])
            case "Signature": signature = String(pair[1])
            default: break
            }
        }
    }
}
