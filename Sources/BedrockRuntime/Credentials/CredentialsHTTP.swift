import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The TLS trust and proxy the credential providers use: the same as the Bedrock
/// transport's (`AWS_CA_BUNDLE` replaces the trust roots; `HTTPS_PROXY`/`NO_PROXY`).
public struct CredentialNetwork: Sendable, Hashable {
    public var tls: TLSSettings
    public var proxy: ProxySettings?
    public init(tls: TLSSettings = TLSSettings(), proxy: ProxySettings? = nil) {
        self.tls = tls
        self.proxy = proxy
    }
}

/// The one HTTP call the network credential providers make, over AsyncHTTPClient,
/// with a deadline for the whole exchange (head *and* body), a cap on the response
/// size, and no redirects: a credential endpoint's 3xx is an error (botocore does not
/// follow them either), so tokens and signed headers never go to another host.
enum CredentialsHTTP {
    struct Response {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Bytes of a credential response kept at most.
    static let maxBodyBytes = 1 << 20

    static func send(
        method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        provider: String, timeout: TimeAmount, network: CredentialNetwork = CredentialNetwork()
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let client: HTTPClient
        do {
            let parts = URLComponents(string: url)
            let https = parts?.scheme?.lowercased() == "https"
            client = try clients.client(
                for: network, host: parts?.host ?? "", port: parts?.port ?? (https ? 443 : 80), https: https)
        } catch {
            throw CredentialsError.invalidConfiguration(provider: provider, problem: "\(error)")
        }
        let seconds = Double(timeout.nanoseconds) / 1e9
        let outgoing = request
        let response: Response
        do {
            response = try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask {
                    let answer = try await client.execute(outgoing, timeout: timeout)
                    var bytes: [UInt8] = []
                    for try await chunk in answer.body {
                        guard chunk.readableBytes <= maxBodyBytes - bytes.count else {
                            throw CredentialsError.serviceError(
                                provider: provider, problem: "response is larger than \(maxBodyBytes >> 20) MiB")
                        }
                        bytes.append(contentsOf: chunk.readableBytesView)
                    }
                    return Response(status: Int(answer.status.code), body: bytes)
                }
                // AsyncHTTPClient's deadline stops at the head: this one covers the body too.
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(max(0, timeout.nanoseconds)))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let answer = first else {
                    throw CredentialsError.unreachable(
                        provider: provider,
                        problem:
                            "\(method) \(redactQuery(url)): no complete answer within \(seconds.formatted()) s (Timeout)"
                    )
                }
                return answer
            }
        } catch let error as CredentialsError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw CredentialsError.unreachable(provider: provider, problem: "\(method) \(redactQuery(url)): \(error)")
        }
        if (300..<400).contains(response.status) {
            throw CredentialsError.serviceError(
                provider: provider,
                problem:
                    "\(method) \(redactQuery(url)) answered HTTP \(response.status) (a redirect; credential requests never follow redirects)"
            )
        }
        return response
    }

    /// The URL without its query (which may carry account or role names).
    static func redactQuery(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    static let clients = CredentialClients()
}

/// One AsyncHTTPClient per TLS/proxy setting, made on first use and kept for the
/// process (as `HTTPClient.shared` is): redirects disallowed, TLS and proxy built by
/// the same code as the Bedrock transport's.
final class CredentialClients: @unchecked Sendable {
    private let lock = Mutex(())
    private var clients: [CredentialNetwork: HTTPClient] = [:]

    /// The client for `network`: through `HTTPS_PROXY` for https URLs whose host
    /// `NO_PROXY` does not name, direct otherwise. Plain-http credential endpoints (IMDS,
    /// the container endpoint) are link-local or loopback addresses: a proxy would reach
    /// its own metadata service, not ours, and could read the token; botocore would use
    /// `HTTP_PROXY` for them, which Quarry does not use.
    func client(for network: CredentialNetwork, host: String, port: Int, https: Bool) throws -> HTTPClient {
        var key = network
        if !https { key.proxy = nil }
        if let proxy = key.proxy, proxy.bypasses(host: host, port: port) { key.proxy = nil }
        return try lock.withLock { _ in
            if let existing = clients[key] { return existing }
            let configuration = try AsyncHTTPClientTransport.clientConfiguration(
                tls: key.tls, proxy: key.proxy, connectTimeout: .seconds(10))
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[key] = client
            return client
        }
    }
}

/// Decodes the JSON credential documents of the container endpoint, IMDS and
/// `credential_process` (`AccessKeyId`, `SecretAccessKey`, `Token`/`SessionToken`,
/// `Expiration`), naming the missing field on failure.
enum CredentialDocument {
    static func decode(_ body: [UInt8], provider: String, tokenKey: String) throws -> SigV4Credentials {
        guard let object = try? JSONParser.parse(body), object.objectMembers != nil else {
            throw CredentialsError.serviceError(provider: provider, problem: "response is not a JSON object")
        }
        func field(_ name: String) throws -> String {
            guard let value = object[name]?.stringValue, !value.isEmpty else {
                throw CredentialsError.serviceError(provider: provider, problem: "response has no '\(name)' string")
            }
            return value
        }
        var expiration: Date?
        if let text = object["Expiration"]?.stringValue {
            guard let date = ISO8601Timestamp.parse(text) else {
                throw CredentialsError.serviceError(
                    provider: provider,
                    problem: "'Expiration' (\(ConfigNumber.shownTimestamp(text))) is not an ISO-8601 time")
            }
            expiration = date
        }
        return SigV4Credentials(
            accessKeyId: try field("AccessKeyId"), secretAccessKey: try field("SecretAccessKey"),
            sessionToken: object[tokenKey]?.stringValue, expiration: expiration)
    }
}
