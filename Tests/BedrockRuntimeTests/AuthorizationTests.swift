import BedrockWire
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// Authorization on the wire: SigV4 per attempt, bearer tokens.
@Suite struct AuthorizationTests {
    static let credentials = SigV4Credentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    @Test("every attempt is signed afresh and verifies on the server")
    func sigV4EveryAttempt() async throws {
        let verifier = SigV4Verifier(regions: ["us-east-1"]) { id in
            id == Self.credentials.accessKeyId ? Self.credentials : nil
        }
        let verified = LockedBox(0)
        let server = try await ScriptedHTTPServer.start { request, n in
            let received = SigV4ReceivedRequest(
                method: request.method, requestTarget: request.uri, headers: request.headers,
                bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: request.body))
            do {
                _ = try verifier.verify(received)
                verified.withLockedValue { $0 += 1 }
            } catch {
                return .serviceError("AccessDeniedException", status: 403, message: "\(error)")
            }
            return n == 0
                ? .serviceError("ThrottlingException", status: 429, message: "slow") : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint.parse(server.endpoint),
            authorizer: SigV4Authorizer(region: "us-east-1", credentials: Self.credentials), retry: fastRetry)
        let client = try BedrockRuntimeClient(configuration: configuration)
        let result = try await client.converse(helloRequest)
        try await client.shutdown()
        #expect(result.attempts.count == 2)
        #expect(verified.withLockedValue { $0 } == 2)
        #expect(
            server.requests.allSatisfy {
                $0.header("Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true
            })
    }

    /// No credentials anywhere is a configuration problem, named as such (botocore's
    /// `NoCredentialsError`), not a bad request; nothing is sent.
    @Test("a client with no credentials fails with MissingCredentials before sending")
    func missingCredentials() async throws {
        struct Nothing: CredentialProvider {
            var name: String { "nothing" }
            func credentials() async throws -> SigV4Credentials {
                throw CredentialsError.noCredentials(tried: ["environment", "shared files"])
            }
        }
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint.parse(server.endpoint),
            authorizer: SigV4Authorizer(region: "us-east-1", provider: Nothing()), retry: fastRetry)
        let client = try BedrockRuntimeClient(configuration: configuration)
        let error = await #expect(throws: BedrockError.self) { try await client.converse(helloRequest) }
        try await client.shutdown()
        #expect(error?.kind == .missingCredentials)
        #expect(error?.code == "MissingCredentials")
        #expect(error?.isRetryable == false)
        #expect(error?.message.contains("no AWS credentials to sign with") == true)
        #expect(server.requests.isEmpty)
    }

    @Test("a client built from the environment sends the bearer token, and no error shows it")
    func bearerFromEnvironment() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            .serviceError(
                "AccessDeniedException", status: 403,
                message: "token rejected for \(request.header("Authorization")?.count ?? 0) chars")
        }
        defer { Task { await server.shutdown() } }
        let token = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQ="
        let environment = ConfigurationEnvironment([
            "AWS_BEARER_TOKEN_BEDROCK": token, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.endpoint,
            "AWS_REGION": "us-west-2",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-that-must-not-be-used",
            "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        ])
        let resolved = try BedrockConfiguration.resolve(environment: environment)
        let client = try BedrockRuntimeClient(configuration: resolved)
        let error = await bedrockError { _ = try await client.converse(helloRequest) }
        try await client.shutdown()
        #expect(server.requests.first?.header("Authorization") == "Bearer \(token)")
        #expect(server.requests.first?.header("X-Amz-Date") == nil)
        let e = try #require(error)
        #expect(e.serviceCode == .accessDenied)
        #expect(!"\(e)".contains(token))
        #expect(!String(reflecting: e).contains(token))
        #expect(client.configuration.region == "us-west-2")
    }
}
