import BedrockRuntime
import Foundation
import Logging
import TestSupport
import Testing

/// Logs at trace level, authorisations and errors never carry a secret.
@Suite struct SecretLoggingTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN"
    static let bearer = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQtdmFsdWU="

    @Test func traceLogsOfTheChainAndCacheShowOnlyTheMaskedKey() async throws {
        let sink = TextSink()
        let logger = CapturingLogHandler.logger("test", into: sink)
        let dir = try TemporaryAWSDirectory()
        defer { dir.remove() }
        let configuration = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_SESSION_TOKEN": Self.token,
            ]))
        let cache = CachingCredentialProvider(
            CredentialProviderChain.default(configuration: configuration, logger: logger),
            logger: logger)
        let authorizer = BedrockAuthorizer(configuration: configuration, credentials: cache)
        let authorization = try await authorizer.authorization()
        let lines = sink.writes
        #expect(lines.count >= 2)
        #expect(lines.contains { $0.contains("AKIA…MPLE") })
        var dumped = ""
        dump(authorization, to: &dumped)
        for text in lines + ["\(authorization)", dumped] {
            #expect(!text.contains(Self.secret), "\(text)")
            #expect(!text.contains(Self.token), "\(text)")
            #expect(!text.contains("AKIAIOSFODNN7EXAMPLE"), "\(text)")
        }
    }

    @Test func bearerTokenWinsOverKeysAndIsNeverPrinted() async throws {
        let dir = try TemporaryAWSDirectory()
        defer { dir.remove() }
        let configuration = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_BEARER_TOKEN_BEDROCK": Self.bearer,
            ]))
        let authorization = try await BedrockAuthorizer(configuration: configuration).authorization()
        guard case .bearer(let token) = authorization else {
            Issue.record("expected bearer auth, got \(authorization)")
            return
        }
        #expect(token == Self.bearer)
        let result = try BotocoreRequestSigning.authorize(
            method: "POST", url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", headers: [],
            body: Array("{}".utf8), authorization: authorization, invocationId: "id", date: Date())
        #expect(result.headers.contains { $0.name == "Authorization" && $0.value == "Bearer " + Self.bearer })
        var dumpedAuthorization = ""
        dump(authorization, to: &dumpedAuthorization)
        var dumpedResult = ""
        dump(result, to: &dumpedResult)
        for text in [
            "\(authorization)", String(reflecting: authorization), dumpedAuthorization, "\(result)", dumpedResult,
        ] {
            #expect(!text.contains(Self.bearer), "\(text)")
        }
    }
}
