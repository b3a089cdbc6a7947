import BedrockWire
import Foundation

/// ECS/EKS container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on
/// `169.254.170.2`) or `AWS_CONTAINER_CREDENTIALS_FULL_URI` (HTTPS anywhere, HTTP
/// only to loopback or the ECS/EKS link-local hosts), with the token from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN`
/// sent as `Authorization`.
public struct ContainerCredentialProvider: CredentialProvider {
    public let name = "container"
    private let environment: ConfigurationEnvironment
    private let endpoints: CredentialEndpoints

    /// The endpoints and network settings in use (for tests).
    var endpointsForTesting: CredentialEndpoints { endpoints }

    /// Hosts plain HTTP may go to.
    static let allowedHTTPHosts: Set<String> = [
        "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "localhost", "[::1]",
    ]

    /// From the environment variables.
    public init(environment: ConfigurationEnvironment, endpoints: CredentialEndpoints = CredentialEndpoints()) {
        self.environment = environment
        self.endpoints = endpoints
    }

    public func credentials() async throws -> SigV4Credentials {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            url = endpoints.containerRelativeBase + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            try Self.checkAllowed(full, provider: name)
            url = full
        } else {
            throw CredentialsError.notConfigured(provider: name, reason: "no AWS_CONTAINER_CREDENTIALS_*_URI")
        }
        var headers: [(String, String)] = []
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            guard let data = FileManager.default.contents(atPath: file),
                let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
            else {
                throw CredentialsError.invalidConfiguration(
                    provider: name, problem: "cannot read authorization token file '\(file)'")
            }
            headers.append(("Authorization", token))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            headers.append(("Authorization", token))
        }
        if let token = headers.first?.1, token.contains("\r") || token.contains("\n") {
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "authorization token contains a line break")
        }
        let response = try await CredentialsHTTP.send(
            method: .GET, url: url, headers: headers, provider: name,
            timeout: endpoints.timeout, network: endpoints.network ?? CredentialNetwork())
        guard response.status == 200 else {
            throw CredentialsError.serviceError(provider: name, problem: "endpoint answered HTTP \(response.status)")
        }
        return try CredentialDocument.decode(response.body, provider: name, tokenKey: "Token")
    }

    /// Whether `host` is an IPv4 literal in 127.0.0.0/8 written canonically: four decimal
    /// numbers 0–255 without leading zeros. A name such as `127.0.attacker.com` is not
    /// (it would resolve wherever its owner likes).
    static func isLoopbackIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let n = Int(part)
            else { return false }
            return n <= 255
        }
    }

    static func checkAllowed(_ url: String, provider: String) throws {
        let parts: SigV4URL
        do { parts = try SigV4URL(url) } catch {
            throw CredentialsError.invalidConfiguration(
                provider: provider, problem: "AWS_CONTAINER_CREDENTIALS_FULL_URI: \(error)")
        }
        if parts.scheme == "https" { return }
        guard parts.scheme == "http" else {
            throw CredentialsError.invalidConfiguration(
                provider: provider,
                problem: "AWS_CONTAINER_CREDENTIALS_FULL_URI must use http or https")
        }
        var host = parts.signingHost
        if !host.hasPrefix("["), let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { host = String(host[...close]) }
        guard isLoopbackIPv4(host) || allowedHTTPHosts.contains(host) else {
            throw CredentialsError.invalidConfiguration(
                provider: provider,
                problem: "AWS_CONTAINER_CREDENTIALS_FULL_URI host '\(host)' is not allowed over http "
                    + "(only loopback, 169.254.170.2, 169.254.170.23, fd00:ec2::23)")
        }
    }
}
