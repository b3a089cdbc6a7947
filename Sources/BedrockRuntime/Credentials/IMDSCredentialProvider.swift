import BedrockWire
import Foundation
import NIOCore

/// EC2 instance-profile credentials through IMDSv2: a session token first
/// (`PUT /latest/api/token`), then the role name and its credentials. Short
/// timeouts (`AWS_METADATA_SERVICE_TIMEOUT`, default 1 s) so hosts off EC2 fail
/// fast; `AWS_EC2_METADATA_DISABLED=true` turns it off; the endpoint comes from
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`).
public struct IMDSCredentialProvider: CredentialProvider {
    public let name = "ec2 instance metadata"
    private let environment: ConfigurationEnvironment
    private let network: CredentialNetwork

    /// From the environment variables.
    public init(environment: ConfigurationEnvironment, endpoints: CredentialEndpoints = CredentialEndpoints()) {
        self.environment = environment
        self.network = endpoints.network ?? CredentialNetwork()
    }

    /// `AWS_METADATA_SERVICE_TIMEOUT` (seconds, 0.1–300, default 1) and
    /// `AWS_METADATA_SERVICE_NUM_ATTEMPTS` (1–10, default 1), range-checked.
    func settings() throws -> (timeout: TimeAmount, attempts: Int) {
        var seconds = 1.0
        if let text = environment["AWS_METADATA_SERVICE_TIMEOUT"] {
            switch ConfigNumber.seconds(text, range: 0.1...300) {
            case .success(let v): seconds = v
            case .failure(let problem):
                throw CredentialsError.invalidConfiguration(
                    provider: name, problem: "AWS_METADATA_SERVICE_TIMEOUT: \(problem.text)")
            }
        }
        var attempts = 1
        if let text = environment["AWS_METADATA_SERVICE_NUM_ATTEMPTS"] {
            switch ConfigNumber.integer(text, range: 1...10) {
            case .success(let v): attempts = v
            case .failure(let problem):
                throw CredentialsError.invalidConfiguration(
                    provider: name, problem: "AWS_METADATA_SERVICE_NUM_ATTEMPTS: \(problem.text)")
            }
        }
        return (.milliseconds(Int64((seconds * 1000).rounded())), attempts)
    }

    public func credentials() async throws -> SigV4Credentials {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            throw CredentialsError.notConfigured(provider: name, reason: "AWS_EC2_METADATA_DISABLED is true")
        }
        var base = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        while base.hasSuffix("/") { base.removeLast() }
        let (timeout, attempts) = try settings()

        var tokenResponse: CredentialsHTTP.Response?
        for attempt in 1...attempts where tokenResponse == nil {
            do {
                tokenResponse = try await CredentialsHTTP.send(
                    method: .PUT, url: base + "/latest/api/token",
                    headers: [("x-aws-ec2-metadata-token-ttl-seconds", "21600")],
                    provider: name, timeout: timeout, network: network)
            } catch let error as CredentialsError {
                // No metadata service here: not on EC2, so the chain simply has nothing.
                if attempt == attempts { throw CredentialsError.notConfigured(provider: name, reason: "\(error)") }
            }
        }
        guard let tokenResponse else {
            throw CredentialsError.notConfigured(provider: name, reason: "no answer from the metadata service")
        }
        guard tokenResponse.status == 200, !tokenResponse.body.isEmpty else {
            throw CredentialsError.serviceError(
                provider: name, problem: "token request answered HTTP \(tokenResponse.status)")
        }
        let token = [("x-aws-ec2-metadata-token", tokenResponse.text)]
        let path = base + "/latest/meta-data/iam/security-credentials/"
        let roles = try await CredentialsHTTP.send(
            method: .GET, url: path, headers: token, provider: name, timeout: timeout,
            network: network)
        if roles.status == 404 {
            throw CredentialsError.notConfigured(provider: name, reason: "the instance has no IAM role")
        }
        guard roles.status == 200,
            let role = roles.text.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty,
            !role.contains("/")
        else {
            throw CredentialsError.serviceError(provider: name, problem: "role listing answered HTTP \(roles.status)")
        }
        let document = try await CredentialsHTTP.send(
            method: .GET, url: path + role, headers: token, provider: name,
            timeout: timeout, network: network)
        guard document.status == 200 else {
            throw CredentialsError.serviceError(
                provider: name, problem: "credentials for role answered HTTP \(document.status)")
        }
        if let object = try? JSONParser.parse(document.body),
            let code = object["Code"]?.stringValue, code != "Success"
        {
            throw CredentialsError.serviceError(provider: name, problem: "instance metadata reports Code '\(code)'")
        }
        return try CredentialDocument.decode(document.body, provider: name, tokenKey: "Token")
    }
}
