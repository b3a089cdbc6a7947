import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One `NO_PROXY` entry, parsed: `*`, a host name (matching it and its subdomains),
/// `.suffix` / `*.suffix`, an IPv4 or IPv6 address (`::1` and `[::1]` alike, compared
/// as addresses, not text), an address block in CIDR form (`10.0.0.0/8`, `fd00::/8`),
/// each optionally with `:port` (IPv6 with a port needs brackets: `[::1]:8080`), which
/// then matches only that port.
struct NoProxyRule: Hashable, Sendable {
    enum Target: Hashable, Sendable {
        case everything
        /// A host name: matches it and every name under it.
        case domain(String)
        /// An address (4 or 16 bytes) and prefix length (the whole address by default).
        case network(address: [UInt8], prefix: Int)
    }

    var target: Target
    var port: Int?

    /// Parses an entry; nil for one that cannot be read (ignored, as curl ignores them).
    init?(_ text: String) {
        var entry = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !entry.isEmpty else { return nil }
        if entry == "*" {
            self.target = .everything
            self.port = nil
            return
        }
        var port: Int?
        if entry.hasPrefix("[") {
            // [v6] or [v6]:port (or [v6]/prefix)
            guard let close = entry.firstIndex(of: "]") else { return nil }
            let inside = String(entry[entry.index(after: entry.startIndex)..<close])
            var rest = entry[entry.index(after: close)...]
            var prefixText: Substring?
            if rest.hasPrefix("/") { prefixText = rest.dropFirst(); rest = "" }
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            } else if !rest.isEmpty {
                return nil
            }
            guard let address = Self.address(inside) else { return nil }
            let prefix = prefixText.flatMap { Int($0) } ?? address.count * 8
            guard (0...(address.count * 8)).contains(prefix) else { return nil }
            self.target = .network(address: address, prefix: prefix)
            self.port = port
            return
        }
        let colons = entry.filter { $0 == ":" }.count
        if colons == 1, let colon = entry.firstIndex(of: ":") {
            // host:port (IPv4 or a name)
            guard let p = Int(entry[entry.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            entry = String(entry[..<colon])
        }
        // colons > 1: a bare IPv6 literal, never cut at a ':'.
        var prefix: Int?
        var addressText = entry
        if let slash = entry.firstIndex(of: "/") {
            guard let n = Int(entry[entry.index(after: slash)...]) else { return nil }
            prefix = n
            addressText = String(entry[..<slash])
        }
        if let address = Self.address(addressText) {
            let bits = prefix ?? address.count * 8
            guard (0...(address.count * 8)).contains(bits) else { return nil }
            self.target = .network(address: address, prefix: bits)
            self.port = port
            return
        }
        guard prefix == nil else { return nil }
        if entry.hasPrefix("*.") { entry.removeFirst(2) } else if entry.hasPrefix(".") { entry.removeFirst() }
        while entry.hasSuffix(".") { entry.removeLast() }
        guard !entry.isEmpty, !entry.contains(":") else { return nil }
        self.target = .domain(entry)
        self.port = port
    }

    /// Whether a request to `host` (a name, an IPv4 address, or IPv6 with or without
    /// brackets) on `port` goes direct.
    func matches(host: String, port requestPort: Int?) -> Bool {
        if let port, port != requestPort { return false }
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") { h.removeLast() }
        switch target {
        case .everything:
            return true
        case .domain(let name):
            // An address is matched whole, never by suffix (`1` must not match `127.0.0.1`).
            if Self.address(h) != nil { return h == name }
            return h == name || h.hasSuffix("." + name)
        case .network(let network, let prefix):
            guard let address = Self.address(h), address.count == network.count else { return false }
            var bits = prefix
            for i in 0..<address.count where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : UInt8(0xFF << (8 - bits))
                if address[i] & mask != network[i] & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    /// The bytes of an IPv4 (4) or IPv6 (16) address in text form; nil for a name.
    static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if text.contains("."), !text.contains(":"), inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        var bare = text
        if let percent = bare.firstIndex(of: "%") { bare = String(bare[..<percent]) }  // zone id
        if text.contains(":"), inet_pton(AF_INET6, bare, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
