/// The parts of a request URL that SigV4 signs, split the way Python's `urlsplit`
/// splits them and without decoding anything: the raw path and query go into the
/// canonical request exactly as they go over the wire.
public struct SigV4URL: Sendable, Hashable {
    /// `https` or `http`, lower-cased.
    public let scheme: String
    /// The `host` value botocore signs: lower-cased host name, `[v6]` in brackets,
    /// `:port` only when it is not the scheme's default.
    public let signingHost: String
    /// The raw path (may be empty; still percent-encoded).
    public let rawPath: String
    /// The raw query after `?`, without the fragment (empty when absent).
    public let rawQuery: String

    /// Splits `url`; throws when it has no `scheme://host`.
    public init(_ url: String) throws(SigV4SigningError) {
        if let fast = Self.splitASCII(url) {
            self = fast
            return
        }
        try self.init(characters: url)
    }

    private init(scheme: String, signingHost: String, rawPath: String, rawQuery: String) {
        self.scheme = scheme
        self.signingHost = signingHost
        self.rawPath = rawPath
        self.rawQuery = rawQuery
    }

    /// The common case, on bytes: an all-ASCII `scheme://host[:port]/path[?query]` with
    /// no user info, fragment or IPv6 literal. Nil sends anything else to the general
    /// parser (which also produces every error message), so results never differ.
    private static func splitASCII(_ url: String) -> SigV4URL? {
        let bytes = url.utf8
        guard
            bytes.allSatisfy({
                $0 < 0x80 && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: "@") && $0 != UInt8(ascii: "[")
            })
        else {
            return nil
        }
        return bytes.withContiguousStorageIfAvailable { b -> SigV4URL? in
            let n = b.count
            var i = 0
            while i < n, b[i] != UInt8(ascii: ":") {
                let c = b[i]
                guard (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) else {
                    return nil
                }
                i += 1
            }
            guard i > 0, i + 2 < n, b[i + 1] == UInt8(ascii: "/"), b[i + 2] == UInt8(ascii: "/") else { return nil }
            let scheme = String(decoding: UnsafeBufferPointer(rebasing: b[0..<i]), as: UTF8.self).lowercased()
            let hostStart = i + 3
            var j = hostStart
            var colon: Int?
            while j < n, b[j] != UInt8(ascii: "/"), b[j] != UInt8(ascii: "?") {
                if b[j] == UInt8(ascii: ":") { colon = j }
                j += 1
            }
            let hostEnd = colon ?? j
            guard hostEnd > hostStart else { return nil }
            var signingHost = String(decoding: UnsafeBufferPointer(rebasing: b[hostStart..<hostEnd]), as: UTF8.self)
                .lowercased()
            if let colon {
                let digits = b[(colon + 1)..<j]
                guard digits.count <= 5, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                if !digits.isEmpty {
                    let port = String(Int(String(decoding: UnsafeBufferPointer(rebasing: digits), as: UTF8.self)) ?? 0)
                    let defaultPort = scheme == "https" ? "443" : scheme == "http" ? "80" : nil
                    if port != defaultPort { signingHost += ":" + port }
                }
            }
            var q = j
            while q < n, b[q] != UInt8(ascii: "?") { q += 1 }
            let rawPath = String(decoding: UnsafeBufferPointer(rebasing: b[j..<q]), as: UTF8.self)
            let rawQuery = q < n ? String(decoding: UnsafeBufferPointer(rebasing: b[(q + 1)..<n]), as: UTF8.self) : ""
            return SigV4URL(scheme: scheme, signingHost: signingHost, rawPath: rawPath, rawQuery: rawQuery)
        } ?? nil
    }

    /// The general parser, on characters: user info, fragments, IPv6 hosts, non-ASCII.
    init(characters url: String) throws(SigV4SigningError) {
        guard let schemeEnd = url.range(of: "://") else { throw .invalidURL("missing scheme://") }
        scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." })
        else {
            throw .invalidURL("bad scheme")
        }
        var rest = url[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let pathAndQuery = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }

        var host: Substring
        var port: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL("unterminated IPv6 host") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                port = after.dropFirst()
            } else if !after.isEmpty {
                throw .invalidURL("unexpected text after IPv6 host")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .invalidURL("missing host") }
        guard port.allSatisfy(\.isASCIIDigit), port.count <= 5 else { throw .invalidURL("bad port") }
        let defaultPort = scheme == "https" ? "443" : scheme == "http" ? "80" : nil
        let portNumber = port.isEmpty ? nil : String(Int(port) ?? 0)
        var signingHost = host.lowercased()
        if let portNumber, portNumber != defaultPort { signingHost += ":" + portNumber }
        self.signingHost = signingHost

        if let question = pathAndQuery.firstIndex(of: "?") {
            rawPath = String(pathAndQuery[..<question])
            rawQuery = String(pathAndQuery[pathAndQuery.index(after: question)...])
        } else {
            rawPath = String(pathAndQuery)
            rawQuery = ""
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
