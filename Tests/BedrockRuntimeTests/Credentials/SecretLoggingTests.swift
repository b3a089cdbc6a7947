import BedrockRuntime
import Foundation
import Logging
import Testing

/// Logs at trace level, authorisations and errors never carry a secret.
@Suite struct SecretLoggingTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN"
    static let bearer = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQtdmFsdWU="

    /// Collects every log line with its metadata.
    final class CapturedLogs: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    struct CapturingHandler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
            sink.append("\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
        }
    }

    @Test func traceLogsOfTheChainAndCacheShowOnlyTheMaskedKey() async throws {
        let sink = CapturedLogs()
        let logger = Logger(label: "test") { _ in CapturingHandler(sink: sink) }
        let dir = try TemporaryAWSDirectory()
        defer { dir.remove() }
        let configuration = try BedrockConfiguration.resolve(environment: dir.environment([
            "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_SESSION_TOKEN": Self.token,
        ]))
        let cache = CachingCredentialProvider(CredentialProviderChain.default(configuration: configuration, logger: logger),
                                              logger: logger)
        let authorizer = BedrockAuthorizer(configuration: configuration, credentials: cache)
        let authorization = try await authorizer.authorization()
        let lines = sink.all
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
        let configuration = try BedrockConfiguration.resolve(environment: dir.environment([
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
        for text in ["\(authorization)", String(reflecting: authorization), dumpedAuthorization, "\(result)", dumpedResult] {
            #expect(!text.contains(Self.bearer), "\(text)")
        }
    }
}
