import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// TLS settings: TLS 1.2 at least, the system trust store, plus an optional CA bundle
/// (`AWS_CA_BUNDLE`).
public struct TLSSettings: Sendable, Hashable {
    /// A PEM file of extra trusted certificates.
    public var caBundlePath: String?
    public init(caBundlePath: String? = nil) { self.caBundlePath = caBundlePath }
}

/// An HTTP(S) proxy and the hosts that bypass it (`HTTPS_PROXY`, `NO_PROXY`).
public struct ProxySettings: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var host: String
    public var port: Int
    /// `user:password` from the proxy URL, if any (never logged).
    var credentials: (user: String, password: String)?
    /// Hosts (or `.suffix` domains) reached directly; `*` bypasses the proxy for all.
    public var noProxy: [String]

    public static func == (a: ProxySettings, b: ProxySettings) -> Bool {
        a.host == b.host && a.port == b.port && a.noProxy == b.noProxy
            && a.credentials?.user == b.credentials?.user && a.credentials?.password == b.credentials?.password
    }
    public func hash(into h: inout Hasher) { h.combine(host); h.combine(port); h.combine(noProxy) }

    /// `http://proxy:3128` (with `user:***@` when credentials are set: the password never shows).
    public var description: String {
        let auth = credentials.map { "\($0.user):***@" } ?? ""
        return "http://\(auth)\(host):\(port)"
            + (noProxy.isEmpty ? "" : " (no proxy: \(noProxy.joined(separator: ",")))")
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["proxy": description]) }

    public init(host: String, port: Int, user: String? = nil, password: String? = nil, noProxy: [String] = []) {
        self.host = host; self.port = port; self.noProxy = noProxy
        if let user { credentials = (user, password ?? "") }
    }

    /// Reads a proxy URL such as `http://user:pw@proxy:3128`.
    public init(url text: String, noProxy: [String] = []) throws {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let c = URLComponents(string: withScheme), let host = c.host, !host.isEmpty else {
            throw BedrockError.invalidRequest("proxy URL is not a valid URL (expected http://host:port)")
        }
        guard c.scheme?.lowercased() == "http" else {
            throw BedrockError.invalidRequest("proxy URL must use http:// (CONNECT proxy), got \(c.scheme ?? "")://")
        }
        self.init(host: host, port: c.port ?? 80, user: c.user, password: c.password, noProxy: noProxy)
    }

    /// The proxy from `HTTPS_PROXY`/`https_proxy` and `NO_PROXY`/`no_proxy`; nil when unset.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ProxySettings?
    {
        guard let url = env["HTTPS_PROXY"] ?? env["https_proxy"], !url.isEmpty else { return nil }
        let list = (env["NO_PROXY"] ?? env["no_proxy"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        return try ProxySettings(url: url, noProxy: list)
    }

    /// Whether requests to `host` (on `port`, when known) go straight to it. Entries are
    /// parsed as `NoProxyRule`s: `::1` and `[::1]` are the same address, `host:port`
    /// matches that port only, `.suffix` its subdomains, `10.0.0.0/8` a block.
    public func bypasses(host: String, port: Int? = nil) -> Bool {
        noProxy.contains { entry in NoProxyRule(entry)?.matches(host: host, port: port) ?? false }
    }
}

/// The default transport: AsyncHTTPClient over HTTP/1.1 or HTTP/2 (ALPN), TLS 1.2+,
/// with an optional CONNECT proxy. Owns its connection pools: call `shutdown()`.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let direct: HTTPClient
    private let proxied: HTTPClient?
    private let proxy: ProxySettings?

    /// Creates the pools. Fails when the CA bundle cannot be read.
    public init(tls: TLSSettings = TLSSettings(), proxy: ProxySettings? = nil, connectTimeout: Duration = .seconds(10))
        throws
    {
        // Every setting is checked before any client exists (a client must be shut down).
        let directConfig = try Self.clientConfiguration(tls: tls, proxy: nil, connectTimeout: connectTimeout)
        let proxiedConfig = try proxy.map {
            try Self.clientConfiguration(tls: tls, proxy: $0, connectTimeout: connectTimeout)
        }
        self.proxy = proxy
        direct = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: directConfig)
        proxied = proxiedConfig.map { HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: $0) }
    }

    /// TLS 1.2 or later; with a CA bundle, its certificates *replace* the system trust
    /// roots, as in the AWS SDKs (a bundle for a private CA must not widen trust to
    /// every public CA, nor the system roots keep trusting what the bundle excludes).
    static func tlsConfiguration(_ tls: TLSSettings) throws -> TLSConfiguration {
        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        tlsConfig.minimumTLSVersion = .tlsv12
        if let path = tls.caBundlePath {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw BedrockError.invalidRequest("CA bundle '\(path)' (AWS_CA_BUNDLE) is not a readable file")
            }
            guard contents.range(of: Data("-----BEGIN CERTIFICATE-----".utf8)) != nil else {
                throw BedrockError.invalidRequest("CA bundle '\(path)' holds no PEM certificate")
            }
            // BoringSSL reads the certificates when the first TLS connection is made:
            // plain-HTTP runs (the emulator) never pay for parsing them.
            tlsConfig.trustRoots = .file(path)
        }
        return tlsConfig
    }

    /// The AsyncHTTPClient settings shared by the Bedrock transport and the credential
    /// providers (and the host's emulator admin client): TLS as above, no redirects, no
    /// decompression, no hidden reconnects,
    /// and the CONNECT proxy when given.
    public static func clientConfiguration(tls: TLSSettings, proxy: ProxySettings?, connectTimeout: Duration) throws
        -> HTTPClient.Configuration
    {
        var config = HTTPClient.Configuration(tlsConfiguration: try tlsConfiguration(tls))
        let connectNanos = connectTimeout.seconds.isFinite ? min(max(connectTimeout.seconds, 0.001), 3600) * 1e9 : 10e9
        config.timeout = .init(connect: .nanoseconds(Int64(connectNanos)), read: nil)
        config.decompression = .disabled
        config.redirectConfiguration = .disallow
        // A refused or failed connection is an attempt's failure for our retry policy to
        // judge; AsyncHTTPClient's own reconnect loop would hide it until the timeout.
        config.connectionPool.retryConnectionEstablishment = false
        // No request spans: with no tracer bootstrapped AsyncHTTPClient still makes a
        // no-op span and its attributes for every request (3% of a Converse call's CPU).
        // Nothing here reads traces.
        config.tracing.tracer = nil
        // HTTP/1.1 holds one call per connection: allow as many as scripts may have
        // in flight (AsyncHTTPClient's default of 8 queues the rest until the pool
        // timeout fails them, e.g. 1,000 concurrent streams).
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        if let proxy {
            let auth = proxy.credentials.map {
                HTTPClient.Authorization.basic(username: $0.user, password: $0.password)
            }
            config.proxy = .server(host: proxy.host, port: proxy.port, authorization: auth)
        }
        return config
    }

    /// Closes every connection. Call once, when the client is no longer used.
    public func shutdown() async throws {
        try await direct.shutdown()
        try await proxied?.shutdown()
    }

    public func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        let client: HTTPClient
        let port = request.endpoint.port ?? (request.endpoint.scheme == "https" ? 443 : 80)
        if let proxied, let proxy, !proxy.bypasses(host: request.endpoint.host, port: port) {
            client = proxied
        } else {
            client = direct
        }
        if request.bodyStream == nil, let executor = CallExecutor.preferred {
            return try await sendPinned(request, with: client, for: executor, port: port)
        }
        var r = HTTPClientRequest(url: request.url)
        r.method = request.method
        r.headers = request.headers
        if let stream = request.bodyStream {
            // Sent as it is produced; over HTTP/2 the response streams back meanwhile.
            r.body = .stream(stream, length: .unknown)
        } else if !request.body.isEmpty || request.method == .POST || request.method == .PUT {
            r.body = .bytes(ByteBuffer(bytes: request.body))
        }
        do {
            // Our own watchdogs enforce the time-to-first-byte and total deadlines;
            // this one is only a backstop.
            let response = try await client.execute(r, timeout: .hours(24))
            return IncomingResponse(
                status: Int(response.status.code), headers: response.headers,
                body: ResponseBody(response.body))
        } catch {
            throw TransportErrorMapper.map(error, server: "\(request.endpoint.host):\(port)")
        }
    }
}

extension AsyncHTTPClientTransport {
    /// The event loops a caller's calls are pinned to, one per preferring executor (its
    /// identity picks the loop): a script's sequential calls reuse one connection on one
    /// loop, and many scripts spread over the loops.
    private static let loops = Array(HTTPClient.defaultEventLoopGroup.makeIterator())

    /// Sends `request` through `PinnedExchange` on the loop `executor`'s calls use.
    fileprivate func sendPinned(
        _ request: OutgoingRequest, with client: HTTPClient, for executor: any TaskExecutor, port: Int
    ) async throws -> IncomingResponse {
        let loops = Self.loops
        let loop = loops[Int(UInt(bitPattern: ObjectIdentifier(executor).hashValue) % UInt(max(1, loops.count)))]
        do {
            var body: HTTPClient.Body?
            if !request.body.isEmpty || request.method == .POST || request.method == .PUT {
                body = .byteBuffer(ByteBuffer(bytes: request.body))
            }
            let outgoing = try HTTPClient.Request(
                url: request.url, method: request.method, headers: request.headers, body: body)
            let (status, headers, responseBody) = try await PinnedExchange.send(outgoing, with: client, on: loop)
            return IncomingResponse(status: status, headers: headers, body: responseBody)
        } catch {
            throw TransportErrorMapper.map(error, server: "\(request.endpoint.host):\(port)")
        }
    }
}

/// Turns errors from NIO and AsyncHTTPClient into `BedrockError`s with a transport kind.
enum TransportErrorMapper {
    /// `server` ("host:port", when known) names who refused a connection, in place of
    /// NIO's own wording ("connection reset (error set): Connection refused (errno: 111)").
    static func map(_ error: any Error, server: String? = nil) -> any Error {
        let refused = "connection refused" + (server.map { " by \($0)" } ?? "")
        if error is BedrockError || error is CancellationError { return error }
        if let e = error as? HTTPClientError {
            switch e {
            case .cancelled: return CancellationError()
            case .connectTimeout: return failure(.connectTimeout, "no connection within the connect timeout")
            case .deadlineExceeded: return failure(.firstByteTimeout, "no response before the deadline")
            case .readTimeout: return failure(.idleTimeout, "no data within the read timeout")
            case .remoteConnectionClosed:
                return failure(.connectionReset, "the server closed the connection before answering")
            case .invalidURL, .emptyHost, .emptyScheme:
                return BedrockError.invalidRequest("invalid request URL: \(e)")
            default: break
            }
        }
        if error is NIOSSLError || error is NIOSSLExtraError || "\(type(of: error))".contains("SSL") {
            return failure(.tlsFailure, "TLS failed: \(error)")
        }
        let text = String(describing: error)
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return failure(.connectFailure, refused)
            case EHOSTUNREACH, ENETUNREACH: return failure(.connectFailure, "connection failed: \(text)")
            case ECONNRESET, EPIPE, ECONNABORTED: return failure(.connectionReset, "connection reset: \(text)")
            default: break
            }
        }
        if let host = unresolvedHost(error, text) {
            return failure(.dnsFailure, "cannot resolve host \(host)")
        }
        if "\(type(of: error))".contains("NIOConnectionError") || text.contains("connectionRefused")
            || text.contains("Connection refused")
        {
            if text.contains("dns") || text.contains("DNS") || text.contains("resolve") {
                return failure(.dnsFailure, "the host name did not resolve: \(text)")
            }
            if text.contains("connectionRefused") || text.contains("Connection refused") {
                return failure(.connectFailure, refused)
            }
            return failure(.connectFailure, "connection failed: \(text)")
        }
        if let c = error as? ChannelError {
            switch c {
            case .connectTimeout: return failure(.connectTimeout, "no connection within the connect timeout")
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
                return failure(.connectionReset, "the connection closed: \(c)")
            default: break
            }
        }
        if error is NIOHTTP1.HTTPParserError {
            return failure(.connectionReset, "the server sent a malformed HTTP response: \(text)")
        }
        if text.contains("reset") || text.contains("RESET") || text.contains("closed") {
            return failure(.connectionReset, "connection lost: \(text)")
        }
        return failure(.other, "transport error: \(text)")
    }

    /// The host name a failed DNS lookup was for (NIO's `SocketAddressError.UnknownHost`,
    /// "… for host X, port N", however deep it is wrapped), or "the server's host name"
    /// when the error does not say; nil when the error is not a failed lookup.
    static func unresolvedHost(_ error: any Error, _ text: String) -> String? {
        if let unknown = error as? SocketAddressError.UnknownHost { return unknown.host }
        guard let found = text.range(of: "UnknownHost") else { return nil }
        let rest = text[found.upperBound...]
        guard let name = rest.range(of: "for host ") else { return "the server's host name" }
        let host = rest[name.upperBound...].prefix { $0 != "," && $0 != ")" && !$0.isWhitespace }
        return host.isEmpty ? "the server's host name" : String(host)
    }

    static func failure(_ kind: TransportFailure, _ message: String) -> BedrockError {
        BedrockError(kind: .transport(kind), message: message)
    }
}
