import Foundation
import Synchronization

/// The HTTP connection pools of one target, shared by every client its hosts make.
///
/// An AsyncHTTPClient pool is costly to make and leaves objects behind after its
/// shutdown, so an app that makes one host per script must not make one pool per host:
/// clients with the same TLS, proxy and connect-timeout settings share one transport
/// (each client keeps its own retry quota, in-flight budget and middlewares). The
/// transports live until `QuarryTarget.shutdown()` (or the target is dropped).
final class SharedTransports: @unchecked Sendable {
    private struct Key: Hashable {
        var tls: TLSSettings
        var proxy: ProxySettings?
        var connectTimeout: Duration
    }

    private let lock = Mutex(())
    private var transports: [Key: AsyncHTTPClientTransport] = [:]

    /// The transport for these settings, made once.
    func transport(tls: TLSSettings, proxy: ProxySettings?, connectTimeout: Duration) throws -> AsyncHTTPClientTransport
    {
        let key = Key(tls: tls, proxy: proxy, connectTimeout: connectTimeout)
        return try lock.withLock { _ in
            if let made = transports[key] { return made }
            let made = try AsyncHTTPClientTransport(tls: tls, proxy: proxy, connectTimeout: connectTimeout)
            transports[key] = made
            return made
        }
    }

    /// How many transports (sets of connection pools) are alive.
    var count: Int { lock.withLock { _ in transports.count } }

    /// Closes every pool; a later client makes new ones.
    func shutdown() async {
        let all = lock.withLock { _ in
            let all = Array(transports.values)
            transports.removeAll()
            return all
        }
        for transport in all { try? await transport.shutdown() }
    }

    deinit {
        // AsyncHTTPClient insists on an explicit shutdown: hand the pools to a task.
        let leftover = Array(transports.values)
        if !leftover.isEmpty {
            Task.detached { for transport in leftover { try? await transport.shutdown() } }
        }
    }
}
