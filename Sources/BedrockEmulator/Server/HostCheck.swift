import Foundation
import Synchronization

/// The emulator's `Host` check, against DNS rebinding: a page on `attacker.example`
/// whose name later resolves to 127.0.0.1 reaches the emulator with
/// `Host: attacker.example:PORT`. Accepted: loopback names and addresses
/// (`localhost` and names under it, `127.x.x.x`, `[::1]`) with the server's own port, the configured
/// host, and the names listed in `allowed_hosts` (any port: they are the operator's
/// choice, e.g. behind a port mapping). Everything else is refused before the request
/// is authenticated, logged or its body read.
final class HostCheck: Sendable {
    private let configuredHost: String
    private let allowed: Set<String>
    private let tls: Bool
    private let port = Mutex<Int?>(nil)

    init(configuration: EmulatorConfiguration) {
        configuredHost = Self.normalise(configuration.host)
        allowed = Set(configuration.allowedHosts.map(Self.normalise))
        tls = configuration.tls
    }

    /// Set once the listener is bound (port 0 picks one).
    func bound(to port: Int) { self.port.withLock { $0 = port } }

    /// Nil when `values` (the request's `Host` headers) name this server; else why not.
    func refusal(_ values: [String]) -> ServiceError? {
        guard values.count == 1, let value = values.first, !value.isEmpty else {
            return ServiceError(
                name: "ValidationException", status: 400,
                message: "The request needs exactly one Host header naming this emulator.")
        }
        guard let (name, requestPort) = Self.split(value) else { return refused(value) }
        let normalised = Self.normalise(name)
        if allowed.contains(normalised) { return nil }
        let boundPort = port.withLock { $0 }
        let portMatches = requestPort.map { $0 == boundPort } ?? (boundPort == (tls ? 443 : 80))
        guard portMatches else { return refused(value) }
        if normalised == configuredHost || Self.isLoopback(normalised) || Self.isUnderLocalhost(normalised) {
            return nil
        }
        return refused(value)
    }

    private func refused(_ value: String) -> ServiceError {
        let port = port.withLock { $0.map(String.init) ?? "?" }
        return ServiceError(
            name: "AccessDeniedException", status: 403,
            message:
                "The Host header '\(RequestLog.cut(value))' does not name this emulator: it accepts localhost and names under it, "
                + "127.x.x.x and [::1] with port \(port), its configured host, and the config file's allowed_hosts "
                + "(requests for other names are refused so a web page on a rebinding domain cannot reach it).")
    }

    /// `name` and optional port from a Host value (`[::1]:4566`, `localhost:80`, `example`).
    static func split(_ value: String) -> (String, Int?)? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let name = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (name, nil) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else { return nil }
            return (name, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (text, nil)
        case 2:
            guard let port = Int(parts[1]), (0...65535).contains(port) else { return nil }
            return (String(parts[0]), port)
        default: return nil
        }
    }

    static func normalise(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    /// A name under `localhost` (`bucket.localhost`, `bucket.s3.localhost`: S3's
    /// virtual-hosted addressing against a loopback endpoint). RFC 6761 reserves the
    /// whole `.localhost` domain for loopback and no registrar can sell a name in it, so
    /// a rebinding page cannot own one.
    static func isUnderLocalhost(_ name: String) -> Bool {
        name.hasSuffix(".localhost") && name.utf8.count > ".localhost".utf8.count
            && name.utf8.count <= 253 && !name.contains("..")
    }

    /// `localhost`, an IPv4 address in 127.0.0.0/8, or `::1`.
    static func isLoopback(_ name: String) -> Bool {
        if name == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }
}
