import Foundation

/// An AWS access key pair, optionally with a session token and an expiry: what a
/// SigV4 signature is made from.
///
/// The secret and the token live only in this value's stored properties. Every way
/// of printing or encoding it — `description`, `debugDescription`, `dump()`,
/// `String(reflecting:)`, `Encodable` — shows at most the masked key id
/// (`AKIA…WXYZ`) and the expiry, so a credentials value can be logged or put into an
/// error without leaking anything.
public struct SigV4Credentials: Sendable, Hashable {
    /// The access key id (`AKIA…` for long-term keys, `ASIA…` for temporary ones).
    public let accessKeyId: String
    /// The secret access key. Never printed.
    public let secretAccessKey: String
    /// The session token of temporary credentials. Never printed.
    public let sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public let expiration: Date?

    /// Credentials from their parts.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : $0 }
        self.expiration = expiration
    }

    /// The key id with all but its first and last four characters hidden
    /// (`AKIA…WXYZ`); ids of eight characters or fewer are hidden completely.
    public var maskedAccessKeyId: String { SecretMasking.maskKeyId(accessKeyId) }

    /// True when an expiry is set and `date` is at or after it.
    public func isExpired(at date: Date = Date()) -> Bool {
        guard let expiration else { return false }
        return date >= expiration
    }
}

extension SigV4Credentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `SigV4Credentials(AKIA…WXYZ, session token: yes, expires: …)` — never a secret.
    public var description: String {
        var text = "SigV4Credentials(\(maskedAccessKeyId)"
        if sessionToken != nil { text += ", session token: ***" }
        if let expiration { text += ", expires: \(SigV4Timestamp(expiration).amzDate)" }
        return text + ")"
    }

    public var debugDescription: String { description }

    /// What `dump()` and debuggers show: the masked key id and expiry only.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": maskedAccessKeyId,
                "secretAccessKey": "***",
                "sessionToken": sessionToken == nil ? "none" : "***",
                "expiration": expiration.map { SigV4Timestamp($0).amzDate } ?? "none",
            ], displayStyle: .struct)
    }
}

extension SigV4Credentials: Encodable {
    private enum CodingKeys: String, CodingKey {
        case accessKeyId, hasSessionToken, expiration
    }

    /// Encodes only the masked key id, whether there is a session token, and the
    /// expiry. Credentials are deliberately not `Decodable`: nothing that was encoded
    /// can be turned back into a working secret.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(maskedAccessKeyId, forKey: .accessKeyId)
        try container.encode(sessionToken != nil, forKey: .hasSessionToken)
        try container.encodeIfPresent(expiration, forKey: .expiration)
    }
}

/// How secrets are shown when something must be shown: never in full.
public enum SecretMasking {
    /// `AKIAIOSFODNN7EXAMPLE` → `AKIA…MPLE`. A short id (eight characters or fewer, a
    /// test or placeholder id such as `test`) shows its first character and its length,
    /// `t… (4 characters)`, so a user can tell which one is in use without the whole id
    /// being printed; a one-character id shows only its length.
    public static func maskKeyId(_ keyId: String) -> String {
        let count = keyId.count
        guard count > 8 else {
            switch count {
            case 0: return "(empty)"
            case 1: return "… (1 character)"
            default: return "\(keyId.prefix(1))… (\(count) characters)"
            }
        }
        return "\(keyId.prefix(4))…\(keyId.suffix(4))"
    }

    /// A fixed placeholder for a secret of any length (the length is not revealed).
    public static let redacted = "***"
}
