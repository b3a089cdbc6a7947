import BedrockWire
import Foundation

/// Why a configuration file was refused.
public struct EmulatorConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the file and field.
    public let message: String
    public var description: String { message }
}

extension EmulatorConfiguration {
    /// The JSON file shape read by ``init(contentsOfFile:)`` (every field optional):
    ///
    /// ```json
    /// {"host": "127.0.0.1", "port": 7555, "tls": false, "ca_file": "/tmp/ca.pem",
    ///  "regions": ["us-east-1", "eu-west-1"],
    ///  "credentials": [{"access_key_id": "AKIA…", "secret_access_key": "…", "session_token": "…"}],
    ///  "bearer_tokens": ["…"], "admin_token": "…", "latency_per_token_ms": 0.05,
    ///  "quotas": [{"model": "…", "region": "…", "requests_per_minute": 60, "tokens_per_minute": 10000}],
    ///  "allowed_hosts": ["bedrock.test"], "idle_timeout_seconds": 30, "max_connections": 256,
    ///  "max_buffered_body_bytes": 268435456,
    ///  "batch_step_seconds": 1, "batch_minimum_records": 100, "max_active_batch_jobs": 20,
    ///  "max_stored_object_bytes": 536870912,
    ///  "responses": [{"contains": "weather", "tool": {"name": "get_weather", "input": {"city": "Oslo"}}},
    ///                {"operation": "Converse", "pattern": "^Summar", "text": "A short summary."}],
    ///  "models": [{"id": "acme.widget-v1:0", "family": "anthropic", "name": "Widget", "provider": "Acme",
    ///              "max_output_tokens": 8192, "default_max_tokens": 1024, "tool_use": true, "reasoning": false,
    ///              "system_prompt": true, "input_modalities": ["image", "document"]}]}
    /// ```
    ///
    /// `models` adds models to the built-in catalogue (see ``DeclaredModel``).
    /// `guardrail_words` (e.g. `["acme-secret"]`) replaces the guardrails' trigger words.
    ///
    /// The `test`/`test` pair stays accepted unless `"include_test_credentials": false`.
    /// `latency_per_token_ms` may be fractional (default 0.05: 1 ms per 20 tokens; 0 turns pacing off).
    struct FileShape: Decodable {
        struct Credential: Decodable {
            var accessKeyID: String
            var secretAccessKey: String
            var sessionToken: String?
            enum CodingKeys: String, CodingKey, CaseIterable {
                case accessKeyID = "access_key_id", secretAccessKey = "secret_access_key", sessionToken =
                    "session_token"
            }
        }
        var host: String?
        var port: Int?
        var tls: Bool?
        var caFile: String?
        var regions: [String]?
        var credentials: [Credential]?
        var includeTestCredentials: Bool?
        var bearerTokens: [String]?
        var adminToken: String?
        var latencyPerTokenMs: Double?
        var quotas: [EmulatorQuota]?
        var allowedHosts: [String]?
        var idleTimeoutSeconds: Double?
        var maxConnections: Int?
        var maxBufferedBodyBytes: Int?
        var responses: [ScriptedReply]?
        var batchStepSeconds: Double?
        var batchMinimumRecords: Int?
        var maxActiveBatchJobs: Int?
        var maxStoredObjectBytes: Int?
        var models: [DeclaredModel]?
        var guardrailWords: [String]?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case batchStepSeconds = "batch_step_seconds", batchMinimumRecords = "batch_minimum_records"
            case maxActiveBatchJobs = "max_active_batch_jobs", maxStoredObjectBytes = "max_stored_object_bytes"
            case host, port, tls, regions, credentials, quotas, responses, models
            case allowedHosts = "allowed_hosts", idleTimeoutSeconds = "idle_timeout_seconds", maxConnections =
                "max_connections"
            case maxBufferedBodyBytes = "max_buffered_body_bytes", guardrailWords = "guardrail_words"
            case caFile = "ca_file", includeTestCredentials = "include_test_credentials"
            case bearerTokens = "bearer_tokens", adminToken = "admin_token", latencyPerTokenMs = "latency_per_token_ms"
        }
    }

    /// The first field of a configuration file (or of its credentials, quotas and
    /// responses) the emulator does not know, as a message naming it; nil when none.
    static func unknownFieldProblem(_ file: JSONValue?) -> String? {
        let top = Set(FileShape.CodingKeys.allCases.map(\.rawValue))
        if let problem = UnknownFields.problem(in: file, known: top, what: "the file") { return problem }
        let credential = Set(FileShape.Credential.CodingKeys.allCases.map(\.rawValue))
        for (i, item) in (file?["credentials"]?.arrayValue ?? []).enumerated() {
            if let problem = UnknownFields.problem(in: item, known: credential, what: "credentials[\(i + 1)]") {
                return problem
            }
        }
        let quota: Set<String> = ["model", "region", "requests_per_minute", "tokens_per_minute"]
        for (i, item) in (file?["quotas"]?.arrayValue ?? []).enumerated() {
            if let problem = UnknownFields.problem(in: item, known: quota, what: "quotas[\(i + 1)]") { return problem }
        }
        for (i, item) in (file?["responses"]?.arrayValue ?? []).enumerated() {
            if let problem = UnknownFields.replyProblem(in: item, what: "responses[\(i + 1)]") { return problem }
        }
        let model = Set(DeclaredModel.CodingKeys.allCases.map(\.rawValue))
        for (i, item) in (file?["models"]?.arrayValue ?? []).enumerated() {
            if let problem = UnknownFields.problem(in: item, known: model, what: "models[\(i + 1)]") { return problem }
        }
        return nil
    }

    /// Reads a JSON configuration file (see ``FileShape``) over the defaults.
    public init(contentsOfFile path: String) throws(EmulatorConfigurationError) {
        self.init()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            let reason =
                !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                ? "no such file"
                : isDirectory.boolValue ? "it is a directory" : "it cannot be read (check its permissions)"
            throw EmulatorConfigurationError(message: "cannot read emulator configuration \(path): \(reason)")
        }
        if let problem = Self.unknownFieldProblem(try? JSONParser.parse(Array(data))) {
            throw EmulatorConfigurationError(message: "emulator configuration \(path): \(problem)")
        }
        let file: FileShape
        do {
            file = try JSONValueDecoder().decode(FileShape.self, from: data)
        } catch {
            throw EmulatorConfigurationError(
                message: "emulator configuration \(path) is not valid: \(AdminAPI.describe(error))")
        }
        if let host = file.host { self.host = host }
        if let port = file.port {
            guard (0...65535).contains(port) else {
                throw EmulatorConfigurationError(message: "\(path): port must be 0…65535, got \(port)")
            }
            self.port = port
        }
        if let tls = file.tls { self.tls = tls }
        caCertificatePath = file.caFile
        if let regions = file.regions {
            guard !regions.isEmpty else {
                throw EmulatorConfigurationError(message: "\(path): regions must not be empty")
            }
            self.regions = regions
        }
        var credentials: [EmulatorCredential] = file.includeTestCredentials == false ? [] : [.test]
        for credential in file.credentials ?? [] {
            guard !credential.accessKeyID.isEmpty, !credential.secretAccessKey.isEmpty else {
                throw EmulatorConfigurationError(
                    message: "\(path): credentials need a non-empty access_key_id and secret_access_key")
            }
            credentials.append(
                EmulatorCredential(
                    accessKeyID: credential.accessKeyID, secretAccessKey: credential.secretAccessKey,
                    sessionToken: credential.sessionToken))
        }
        self.credentials = credentials
        bearerTokens = file.bearerTokens ?? []
        if let token = file.adminToken {
            guard !token.isEmpty, token.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
                throw EmulatorConfigurationError(
                    message:
                        "\(path): admin_token must be a non-empty string of visible ASCII characters (leave it out to get a random one)"
                )
            }
        }
        adminToken = file.adminToken
        if let latency = file.latencyPerTokenMs {
            guard latency >= 0, latency.isFinite, latency <= 60_000 else {
                throw EmulatorConfigurationError(
                    message: "\(path): latency_per_token_ms must be between 0 and 60000, got \(latency)")
            }
            latencyPerToken = .nanoseconds(Int64((latency * 1_000_000).rounded()))
        }
        for quota in file.quotas ?? [] {
            if let rpm = quota.requestsPerMinute, rpm < 1 {
                throw EmulatorConfigurationError(message: "\(path): requests_per_minute must be at least 1")
            }
            if let tpm = quota.tokensPerMinute, tpm < 1 {
                throw EmulatorConfigurationError(message: "\(path): tokens_per_minute must be at least 1")
            }
        }
        quotas = file.quotas ?? []
        if let hosts = file.allowedHosts {
            guard
                hosts.allSatisfy({
                    !$0.isEmpty && $0.utf8.count <= 253 && !$0.contains(where: { $0 == "/" || $0.isWhitespace })
                })
            else {
                throw EmulatorConfigurationError(
                    message: "\(path): allowed_hosts must be host names (1…253 characters, no spaces or '/')")
            }
            allowedHosts = hosts
        }
        if let idle = file.idleTimeoutSeconds {
            guard idle.isFinite, idle >= 0.01, idle <= 86_400 else {
                throw EmulatorConfigurationError(
                    message: "\(path): idle_timeout_seconds must be between 0.01 and 86400, got \(idle)")
            }
            idleTimeout = .milliseconds(Int64((idle * 1000).rounded()))
        }
        if let connections = file.maxConnections {
            guard (1...65_536).contains(connections) else {
                throw EmulatorConfigurationError(
                    message: "\(path): max_connections must be between 1 and 65536, got \(connections)")
            }
            maxConnections = connections
        }
        if let budget = file.maxBufferedBodyBytes {
            guard (65_536...(1 << 40)).contains(budget) else {
                throw EmulatorConfigurationError(
                    message: "\(path): max_buffered_body_bytes must be between 65536 and \(1 << 40), got \(budget)")
            }
            maxBufferedBodyBytes = budget
        }
        for (index, reply) in (file.responses ?? []).enumerated() {
            do { _ = try reply.validated() } catch {
                throw EmulatorConfigurationError(message: "\(path): responses[\(index + 1)]: \(error.message)")
            }
        }
        responses = file.responses ?? []
        if let step = file.batchStepSeconds {
            guard step.isFinite, step >= 0, step <= 3600 else {
                throw EmulatorConfigurationError(
                    message: "\(path): batch_step_seconds must be between 0 and 3600, got \(step)")
            }
            batchStepDuration = .milliseconds(Int64((step * 1000).rounded()))
        }
        if let minimum = file.batchMinimumRecords {
            guard (1...batchMaximumRecords).contains(minimum) else {
                throw EmulatorConfigurationError(
                    message:
                        "\(path): batch_minimum_records must be between 1 and \(batchMaximumRecords), got \(minimum)")
            }
            batchMinimumRecords = minimum
        }
        if let active = file.maxActiveBatchJobs {
            guard (1...1000).contains(active) else {
                throw EmulatorConfigurationError(
                    message: "\(path): max_active_batch_jobs must be between 1 and 1000, got \(active)")
            }
            maxActiveBatchJobs = active
        }
        if let stored = file.maxStoredObjectBytes {
            guard (0...(1 << 40)).contains(stored) else {
                throw EmulatorConfigurationError(
                    message: "\(path): max_stored_object_bytes must be between 0 and \(1 << 40), got \(stored)")
            }
            maxStoredObjectBytes = stored
        }
        if let words = file.guardrailWords {
            guard words.count <= 1000,
                words.allSatisfy({ (1...200).contains($0.count) && !$0.allSatisfy(\.isWhitespace) })
            else {
                throw EmulatorConfigurationError(
                    message: "\(path): guardrail_words must be at most 1000 words of 1…200 characters, not blank")
            }
            guardrailWords = words
        }
        if let declared = file.models {
            var models = ModelCatalog.standard.models
            var ids = Set(models.map(\.id))
            for (index, entry) in declared.enumerated() {
                let model: ModelDescriptor
                do { model = try entry.descriptor() } catch {
                    throw EmulatorConfigurationError(message: "\(path): models[\(index + 1)]: \(error.message)")
                }
                guard ids.insert(model.id).inserted else {
                    throw EmulatorConfigurationError(
                        message: "\(path): models[\(index + 1)]: id '\(model.id)' is already in the catalogue")
                }
                models.append(model)
            }
            catalog = ModelCatalog(models: models)
        }
        if credentials.isEmpty && bearerTokens.isEmpty {
            throw EmulatorConfigurationError(message: "\(path): no credentials or bearer tokens would be accepted")
        }
    }
}
