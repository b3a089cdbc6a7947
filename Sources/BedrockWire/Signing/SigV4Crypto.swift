import Crypto
import Foundation
import Synchronization

/// The hashing and key derivation SigV4 is built from (swift-crypto).
enum SigV4Crypto {
    /// Lower-case hex SHA-256 of `bytes`.
    static func sha256Hex<D: DataProtocol>(_ bytes: D) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    static func signingKey(secret: String, scopeDate: String, region: String, service: String) -> SymmetricKey {
        SigningKeyCache.shared.key(secret: secret, scopeDate: scopeDate, region: region, service: service) {
            deriveSigningKey(secret: secret, scopeDate: scopeDate, region: region, service: service)
        }
    }

    /// The four-HMAC key derivation itself (the cache calls it once per day and scope).
    static func deriveSigningKey(secret: String, scopeDate: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [scopeDate, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// Raw HMAC-SHA256 of `message` under `key`.
    static func hmac<D: DataProtocol>(_ message: D, key: SymmetricKey) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Lower-case hex of any byte sequence.
    static func hex<S: Sequence<UInt8>>(_ bytes: S) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of a hex string (either case); nil when it is not valid hex.
    static func bytes(hex text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// Compares two byte strings in time independent of where they differ.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Remembers the most recent signing keys: a key depends only on the secret, the day,
/// the region and the service, so deriving it (four HMACs, a fifth of a signature's
/// cost) once per day is enough. Holds keys in Swift memory only, never prints them.
final class SigningKeyCache: Sendable {
    static let shared = SigningKeyCache()

    private struct Scope: Hashable {
        var secret: String, scopeDate: String, region: String, service: String
    }

    private let keys = Mutex<[Scope: SymmetricKey]>([:])
    /// Enough for every credential and region a process signs for; cleared when full.
    private let capacity = 64

    func key(
        secret: String, scopeDate: String, region: String, service: String,
        derive: () -> SymmetricKey
    ) -> SymmetricKey {
        let scope = Scope(secret: secret, scopeDate: scopeDate, region: region, service: service)
        if let key = keys.withLock({ $0[scope] }) { return key }
        let key = derive()
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys[scope] = key
        }
        return key
    }
}
