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
        guard let schemeEnd = url.range(of: "://") else { throw .invalidURL("missing scheme://") }
        scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }) else {
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
            if after.hasPrefix(":") { port = after.dropFirst() } else if !after.isEmpty {
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
