import Foundation

/// Why an endpoint URL or an endpoint pattern was refused.
struct EndpointPolicyError: Error, Sendable, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// An endpoint URL as the policy sees it and the client then uses it: scheme, canonical
/// host, effective port and base path, parsed once.
///
/// Parsing is strict, so the text the policy matched is the server the client reaches:
/// only `http`/`https`; printable ASCII only (IDNA hosts in their `xn--` form); no user
/// info, query, fragment, backslash or percent-encoding in the authority; host names
/// are LDH labels, lowercased, one trailing dot dropped; a host whose last label is a
/// number must be a canonical dotted-quad IPv4 address (`127.1`, `0x7f.0.0.1`,
/// `2130706433` and `127.000.0.1` are refused); IPv6 literals in brackets, compared in
/// their canonical text; the port is explicit or the scheme's default (80, 443).
struct EndpointAddress: Sendable, Hashable {
    enum Host: Sendable, Hashable {
        /// A DNS name as lowercase labels.
        case name([String])
        /// A dotted-quad IPv4 address.
        case ipv4([String])
        /// An IPv6 address in canonical text (no brackets).
        case ipv6(String)
    }

    let scheme: String
    let host: Host
    let port: Int
    let path: String

    /// The canonical URL: what the client is given, so it reaches the host that was checked.
    var url: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(hostText)\(port == defaultPort ? "" : ":\(port)")\(path)"
    }

    var hostText: String {
        switch host {
        case .name(let labels), .ipv4(let labels): labels.joined(separator: ".")
        case .ipv6(let text): "[\(text)]"
        }
    }

    /// Parses an endpoint URL a script gave.
    static func parse(_ text: String) throws(EndpointPolicyError) -> EndpointAddress {
        let parts = try URLParts.split(text, pattern: false)
        let port =
            try parts.port.map { p throws(EndpointPolicyError) in try parsePort(p) }
            ?? (parts.scheme == "https" ? 443 : 80)
        return EndpointAddress(
            scheme: parts.scheme, host: try parseHost(parts.host, pattern: false), port: port, path: parts.path)
    }

    static func parsePort(_ text: Substring) throws(EndpointPolicyError) -> Int {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
            !(text.hasPrefix("0")), let n = Int(text), (1...65535).contains(n)
        else {
            throw EndpointPolicyError(reason: "the port '\(text)' is not a number from 1 to 65535 (no leading zeros)")
        }
        return n
    }

    /// Parses a host (or, with `pattern`, a host pattern whose labels may hold `*`).
    static func parseHost(_ raw: Substring, pattern: Bool) throws(EndpointPolicyError) -> Host {
        if raw.hasPrefix("[") {
            guard raw.hasSuffix("]"), raw.count > 2 else {
                throw EndpointPolicyError(reason: "an IPv6 address must be in brackets: [::1]")
            }
            let inner = String(raw.dropFirst().dropLast())
            guard let canonical = canonicalIPv6(inner) else {
                throw EndpointPolicyError(reason: "'\(inner)' is not an IPv6 address (zone ids are not allowed)")
            }
            return .ipv6(canonical)
        }
        var host = raw.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { throw EndpointPolicyError(reason: "the host is empty") }
        guard host.utf8.count <= 253 else {
            throw EndpointPolicyError(reason: "the host name is longer than 253 characters")
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for (i, label) in labels.enumerated() {
            guard !label.isEmpty else { throw EndpointPolicyError(reason: "the host '\(raw)' has an empty label") }
            guard label.utf8.count <= 63 else {
                throw EndpointPolicyError(reason: "a host label is longer than 63 characters")
            }
            if pattern, label == "**", i == 0, labels.count > 1 { continue }
            let allowed = label.unicodeScalars.allSatisfy { s in
                ("a"..."z").contains(s) || ("0"..."9").contains(s) || s == "-" || (pattern && s == "*")
            }
            guard allowed else {
                throw EndpointPolicyError(
                    reason: "the host '\(raw)' may hold only letters, digits, '-' and '.'"
                        + (pattern ? " (and '*' within a label)" : "")
                        + " (write international names in their xn-- form)")
            }
            guard !label.hasPrefix("-"), !label.hasSuffix("-") else {
                throw EndpointPolicyError(reason: "the host label '\(label)' starts or ends with '-'")
            }
        }
        // WHATWG: a host whose last label is a number is an IPv4 address, in any of the
        // forms resolvers accept (hex, octal, fewer parts). Only the canonical one is let through.
        if let last = labels.last, isNumeric(last) {
            guard labels.count == 4, labels.allSatisfy(isCanonicalOctet) else {
                throw EndpointPolicyError(
                    reason: "'\(raw)' is not a canonical dotted-quad IPv4 address (write e.g. 127.0.0.1)")
            }
            return .ipv4(labels)
        }
        return .name(labels)
    }

    private static func isNumeric(_ label: String) -> Bool {
        if label.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        if label.hasPrefix("0x") { return label.dropFirst(2).allSatisfy(\.isHexDigit) }
        return false
    }

    private static func isCanonicalOctet(_ label: String) -> Bool {
        guard label.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(label), (0...255).contains(n) else {
            return false
        }
        return String(n) == label
    }

    private static func canonicalIPv6(_ text: String) -> String? {
        guard !text.isEmpty, text.count <= 45,
            text.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." })
        else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The pieces of `scheme://authority/path` before host and port are read.
struct URLParts {
    var scheme: String
    var host: Substring
    var port: Substring?
    var path: String

    static func split(_ text: String, pattern: Bool) throws(EndpointPolicyError) -> URLParts {
        guard !text.isEmpty, text.utf8.count <= 2048 else {
            throw EndpointPolicyError(reason: "the URL is empty or too long")
        }
        guard text.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw EndpointPolicyError(
                reason: "the URL may hold only printable ASCII without spaces"
                    + " (write international host names in their xn-- form)")
        }
        guard let schemeEnd = text.range(of: "://") else {
            throw EndpointPolicyError(reason: "not a URL (expected http://host or https://host)")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw EndpointPolicyError(reason: "the scheme '\(scheme)' is not http or https")
        }
        let rest = text[schemeEnd.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else {
            throw EndpointPolicyError(reason: "a query or fragment is not allowed")
        }
        guard !rest.contains("\\") else { throw EndpointPolicyError(reason: "a backslash is not allowed") }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.contains("@") else { throw EndpointPolicyError(reason: "user info ('user@') is not allowed") }
        guard !authority.contains("%") else {
            throw EndpointPolicyError(reason: "percent-encoding is not allowed in the host")
        }
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw EndpointPolicyError(reason: "an IPv6 address is missing its ']'")
            }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw EndpointPolicyError(reason: "unexpected text after the IPv6 address")
                }
                port = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        if pattern {
            // A pattern names a server, not a path: a trailing `/*` (older globs) is read as "any path".
            if path.hasSuffix("/*") { path.removeLast(2) }
            while path.hasSuffix("/") { path.removeLast() }
            guard path.isEmpty else {
                throw EndpointPolicyError(reason: "a pattern names scheme, host and port only (no path)")
            }
        }
        return URLParts(scheme: scheme, host: host, port: port, path: path)
    }
}

/// An `allowedEndpoints` entry, parsed: `scheme://host-pattern[:port|:*]`.
///
/// The scheme must equal the URL's. The port must equal the URL's effective port
/// (none written means the scheme's default, 80 or 443); `:*` allows any port. Host
/// names match label by label: `*` matches within one label (`*.corp.example` matches
/// `api.corp.example`, not `a.b.corp.example` nor `corp.example`; `bedrock-*.corp.example`
/// works too), and a leading `**` label matches one or more labels. IP addresses match
/// the canonical address exactly (an IPv4 pattern may use `*` for whole octets).
struct EndpointPattern: Sendable, Hashable {
    let text: String
    let scheme: String
    let host: EndpointAddress.Host
    /// nil: any port.
    let port: Int?

    init(_ text: String) throws(EndpointPolicyError) {
        let parts = try URLParts.split(text, pattern: true)
        self.text = text
        scheme = parts.scheme
        host = try EndpointAddress.parseHost(parts.host, pattern: true)
        if let p = parts.port {
            port = p == "*" ? nil : try EndpointAddress.parsePort(p)
        } else {
            port = parts.scheme == "https" ? 443 : 80
        }
    }

    func matches(_ address: EndpointAddress) -> Bool {
        guard scheme == address.scheme else { return false }
        if let port, port != address.port { return false }
        switch (host, address.host) {
        case (.ipv6(let a), .ipv6(let b)): return a == b
        case (.name(let pattern), .name(let labels)), (.name(let pattern), .ipv4(let labels)),
            (.ipv4(let pattern), .ipv4(let labels)):
            return Self.labelsMatch(pattern, labels)
        default: return false
        }
    }

    static func labelsMatch(_ pattern: [String], _ labels: [String]) -> Bool {
        if pattern.first == "**" {
            let tail = pattern.dropFirst()
            guard labels.count > tail.count else { return false }
            return zip(tail, labels.suffix(tail.count)).allSatisfy { LabelGlob.matches($0, $1) }
        }
        guard pattern.count == labels.count else { return false }
        return zip(pattern, labels).allSatisfy { LabelGlob.matches($0, $1) }
    }
}

/// `*` within one label (never crossing a `.`; labels never hold one).
enum LabelGlob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] != UInt8(ascii: "*"), p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
