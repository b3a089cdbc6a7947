import AsyncHTTPClient
import BedrockEmulator
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The emulator's admin API: where it is and the token it wants (never a Bedrock credential).
public struct EmulatorAdmin: Sendable, Hashable {
    /// The emulator's base URL (`http://127.0.0.1:PORT`).
    public var url: String
    /// The value for the `x-quarry-admin-token` header.
    public var token: String
    /// Where the emulator's CA certificate is, when it serves TLS.
    public var caCertificatePath: String?

    /// An admin API at `url` with `token`.
    public init(url: String, token: String, caCertificatePath: String? = nil) {
        self.url = url
        self.token = token
        self.caCertificatePath = caCertificatePath
    }
}

/// Client settings a script may ask for with `bedrock.client{…}`.
public struct ClientSettings: Sendable, Hashable {
    /// The region (`us-west-2`); nil for the target's.
    public var region: String?
    /// The AWS profile; nil for the target's.
    public var profile: String?
    /// A custom endpoint URL; nil for the target's.
    public var endpoint: String?
    /// Retry mode (`standard`, `adaptive`, `legacy`); nil for the default.
    public var retryMode: RetryMode?
    /// Most attempts per call; nil for the default.
    public var maxAttempts: Int?
    /// A total timeout per call, in seconds; nil for none.
    public var timeoutSeconds: Double?

    /// Settings with everything left to the target.
    public init(region: String? = nil, profile: String? = nil, endpoint: String? = nil,
                retryMode: RetryMode? = nil, maxAttempts: Int? = nil, timeoutSeconds: Double? = nil) {
        self.region = region
        self.profile = profile
        self.endpoint = endpoint
        self.retryMode = retryMode
        self.maxAttempts = maxAttempts
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Where Bedrock calls go: real AWS (resolved the AWS way) or an emulator (started in
/// this process when no AWS credentials are configured, or one already running).
///
/// It makes the clients the host hands to scripts, so credentials stay here: scripts only
/// ever hold handles.
public final class QuarryTarget: Sendable {
    /// What kind of target this is.
    public enum Kind: Sendable, Hashable {
        /// Amazon Bedrock (or a custom endpoint) with AWS credentials.
        case aws
        /// A `BedrockEmulator`, accepting the `test`/`test` key pair.
        case emulator
    }

    /// What kind of target this is.
    public let kind: Kind
    /// The region calls go to unless a client names another.
    public let region: String
    /// One line for banners and notices: where calls go and as whom (key id masked).
    public let description: String
    /// The emulator's admin API, when the target is an emulator.
    public let emulatorAdmin: EmulatorAdmin?
    /// Layers added to every client this target makes (e.g. client-side fault injection).
    public let middlewares: [any TransportMiddleware]
    /// Whether the target is an emulator.
    public var isEmulator: Bool { kind == .emulator }

    private let environment: [String: String]
    private let emulatorEndpoint: String?
    private let emulatorCredentials: SigV4Credentials?
    private let ownedEmulator: BedrockEmulator?
    private let defaultProfile: String?
    private let defaultEndpoint: String?
    /// The connection pools every client of this target shares.
    private let transports = SharedTransports()

    /// How many sets of HTTP connection pools the target's clients share now (one per
    /// distinct TLS/proxy/connect-timeout setting, however many hosts use the target).
    package var liveHTTPTransports: Int { transports.count }

    private init(kind: Kind, region: String, description: String, emulatorAdmin: EmulatorAdmin?,
                 middlewares: [any TransportMiddleware], environment: [String: String], emulatorEndpoint: String?,
                 emulatorCredentials: SigV4Credentials?, ownedEmulator: BedrockEmulator?,
                 defaultProfile: String?, defaultEndpoint: String?) {
        self.kind = kind
        self.region = region
        self.description = description
        self.emulatorAdmin = emulatorAdmin
        self.middlewares = middlewares
        self.environment = environment
        self.emulatorEndpoint = emulatorEndpoint
        self.emulatorCredentials = emulatorCredentials
        self.ownedEmulator = ownedEmulator
        self.defaultProfile = defaultProfile
        self.defaultEndpoint = defaultEndpoint
    }

    /// How `resolve` chooses between AWS and the emulator.
    public enum Preference: String, Sendable {
        /// AWS when credentials are configured, else the in-process emulator.
        case automatic
        /// Always AWS (configuration errors are reported, never papered over).
        case aws
        /// Always the in-process emulator.
        case emulator
    }

    /// Resolves the target the way the AWS SDKs resolve configuration. With
    /// `.automatic` (or `QUARRY_TARGET=auto`), when no credentials are configured
    /// (no keys, bearer token, profile, web identity or container credentials), it starts
    /// the emulator on 127.0.0.1 in this process and targets it.
    public static func resolve(region: String? = nil, profile: String? = nil, endpoint: String? = nil,
                               preference: Preference? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               middlewares: [any TransportMiddleware] = []) async throws -> QuarryTarget {
        let chosen: Preference
        if let preference {
            chosen = preference
        } else if let text = environment["QUARRY_TARGET"], !text.isEmpty {
            guard let p = Preference(rawValue: text.lowercased() == "auto" ? "automatic" : text.lowercased()) else {
                throw ScriptError(code: "ConfigurationError",
                                  message: "QUARRY_TARGET must be 'aws', 'emulator' or 'auto', got '\(text)'")
            }
            chosen = p
        } else {
            chosen = .automatic
        }
        let useAWS: Bool
        switch chosen {
        case .aws: useAWS = true
        case .emulator: useAWS = false
        case .automatic: useAWS = endpoint != nil || profile != nil || credentialsConfigured(environment)
        }
        if useAWS {
            return try aws(region: region, profile: profile, endpoint: endpoint, environment: environment,
                           middlewares: middlewares)
        }
        var quiet = Logger(label: "quarry.emulator")
        quiet.logLevel = .warning
        let emulator = BedrockEmulator(logger: quiet)
        let started = try await emulator.start()
        let chosenRegion = region ?? started.regions.first ?? "us-east-1"
        return QuarryTarget(kind: .emulator, region: chosenRegion,
                            description: "emulator at \(started.url) (\(chosenRegion), key test)",
                            emulatorAdmin: EmulatorAdmin(url: started.url, token: emulator.adminToken),
                            middlewares: middlewares, environment: environment, emulatorEndpoint: started.url,
                            emulatorCredentials: SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"),
                            ownedEmulator: emulator, defaultProfile: nil, defaultEndpoint: nil)
    }

    /// A target for an emulator that is already running (tests, `quarry emulator` elsewhere).
    public static func emulator(url: String, adminToken: String, region: String = "us-east-1",
                                credentials: SigV4Credentials = SigV4Credentials(accessKeyId: "test", secretAccessKey: "test"),
                                caCertificatePath: String? = nil,
                                middlewares: [any TransportMiddleware] = []) -> QuarryTarget {
        QuarryTarget(kind: .emulator, region: region,
                     description: "emulator at \(url) (\(region), key \(credentials.maskedAccessKeyId))",
                     emulatorAdmin: EmulatorAdmin(url: url, token: adminToken, caCertificatePath: caCertificatePath),
                     middlewares: middlewares, environment: [:], emulatorEndpoint: url,
                     emulatorCredentials: credentials, ownedEmulator: nil, defaultProfile: nil, defaultEndpoint: nil)
    }

    /// An AWS target resolved from the environment, shared files and the given overrides.
    public static func aws(region: String? = nil, profile: String? = nil, endpoint: String? = nil,
                           environment: [String: String] = ProcessInfo.processInfo.environment,
                           middlewares: [any TransportMiddleware] = []) throws -> QuarryTarget {
        let resolved = try BedrockConfiguration.resolve(
            environment: ConfigurationEnvironment(environment),
            overrides: .init(profile: profile, region: region, endpointURL: endpoint))
        guard let regionName = resolved.region?.name else {
            throw ScriptError(code: "ConfigurationError",
                              message: "no AWS region is configured: pass --region, set AWS_REGION, or set region in the profile")
        }
        var who = "profile \(resolved.profileName)"
        if resolved.bearerToken != nil { who = "bearer token" }
        else if let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty {
            who = "key \(SigV4Credentials(accessKeyId: key, secretAccessKey: "").maskedAccessKeyId)"
        }
        let place = resolved.isCustomEndpoint ? " via \(resolved.endpoint)" : ""
        return QuarryTarget(kind: .aws, region: regionName, description: "AWS \(regionName)\(place) (\(who))",
                            emulatorAdmin: nil, middlewares: middlewares, environment: environment,
                            emulatorEndpoint: nil, emulatorCredentials: nil, ownedEmulator: nil,
                            defaultProfile: profile, defaultEndpoint: endpoint)
    }

    /// Whether AWS credentials of any kind are configured, judged without network calls
    /// (instance roles cannot be seen this way: set `QUARRY_TARGET=aws` on EC2).
    public static func credentialsConfigured(_ environment: [String: String]) -> Bool {
        func set(_ name: String) -> Bool { !(environment[name] ?? "").isEmpty }
        if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") { return true }
        if set("AWS_BEARER_TOKEN_BEDROCK") || set("AWS_WEB_IDENTITY_TOKEN_FILE") || set("AWS_PROFILE")
            || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            return true
        }
        guard let files = try? SharedConfigFiles.load(from: ConfigurationEnvironment(environment)),
              let section = files.profiles[environment["AWS_DEFAULT_PROFILE"] ?? "default"] else { return false }
        let keys = ["aws_access_key_id", "credential_process", "sso_session", "sso_start_url", "role_arn",
                    "web_identity_token_file"]
        return keys.contains { section[$0] != nil }
    }

    /// A client for `settings`, with this target's credentials, endpoint and middlewares.
    /// The most a stream's accumulated result may hold in a host's clients (15 MiB:
    /// under the sandbox's 16 MiB string limit; real answers are far smaller).
    public static let maxStreamBytesForScripts = 15 << 20

    /// The bytes a host's client may hold for all its calls in flight together, for a
    /// sandbox of `memoryBytes`: twice that, at least 32 MiB (one full body).
    public static func maxInFlightBytesForScripts(memoryBytes: Int) -> Int {
        let doubled = max(0, memoryBytes).multipliedReportingOverflow(by: 2)
        return max(32 << 20, doubled.overflow ? Int.max : doubled.partialValue)
    }

    /// `maxInFlightBytes` (the host passes `maxInFlightBytesForScripts`) caps the bytes
    /// all of the client's calls in flight hold together; nil keeps the client default.
    public func makeClient(_ settings: ClientSettings = ClientSettings(), maxInFlightBytes: Int? = nil) throws -> BedrockRuntimeClient {
        var configuration: BedrockRuntimeClient.Configuration
        switch kind {
        case .emulator:
            let region = settings.region ?? self.region
            let url = settings.endpoint ?? emulatorEndpoint ?? ""
            let credentials = emulatorCredentials ?? SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")
            configuration = try BedrockRuntimeClient.Configuration(
                region: region, endpoint: try BedrockEndpoint(validating: url),
                authorizer: SigV4Authorizer(region: region, credentials: credentials),
                tls: TLSSettings(caBundlePath: emulatorAdmin?.caCertificatePath))
        case .aws:
            let resolved = try BedrockConfiguration.resolve(
                environment: ConfigurationEnvironment(environment),
                overrides: .init(profile: settings.profile ?? defaultProfile, region: settings.region ?? region,
                                 endpointURL: settings.endpoint ?? defaultEndpoint))
            configuration = try BedrockRuntimeClient.Configuration(resolved: resolved)
        }
        if let mode = settings.retryMode { configuration.retry.mode = mode }
        if let attempts = settings.maxAttempts { configuration.retry.maxAttempts = max(1, attempts) }
        if let seconds = settings.timeoutSeconds { configuration.timeouts.total = .milliseconds(Int64(seconds * 1000)) }
        configuration.middlewares = middlewares + configuration.middlewares
        // A script can take at most a 16 MiB string: a stream's result stops below that,
        // with an error naming the client's cap, rather than failing later in conversion.
        configuration.limits.maxStreamBytes = min(configuration.limits.maxStreamBytes, Self.maxStreamBytesForScripts)
        if let maxInFlightBytes { configuration.limits.maxInFlightBytes = max(0, maxInFlightBytes) }
        if configuration.transport == nil {
            // One set of connection pools per target, not per host (issue 24).
            configuration.transport = try transports.transport(tls: configuration.tls, proxy: configuration.proxy,
                                                               connectTimeout: configuration.timeouts.connect)
        }
        return try BedrockRuntimeClient(configuration: configuration)
    }

    /// The models the target offers: the emulator's catalog, or for AWS the well-known
    /// Bedrock model ids (listing needs the `bedrock` control-plane API, not the runtime).
    public func models() async throws -> [LuaValue] {
        if let emulator = ownedEmulator {
            return emulator.models.map { m in
                .map(["id": .string(m.id), "name": .string(m.name), "provider": .string(m.provider),
                      "max_output_tokens": .integer(Int64(m.maxOutputTokens)), "tool_use": .boolean(m.supportsToolUse),
                      "reasoning": .boolean(m.supportsReasoning)])
            }
        }
        if let admin = emulatorAdmin {
            let json = try await EmulatorAdminClient(admin).get("models")
            return (json["models"]?.arrayValue ?? []).map { m in
                .map(["id": .string(m["modelId"]?.stringValue ?? ""), "name": .string(m["modelName"]?.stringValue ?? ""),
                      "provider": .string(m["providerName"]?.stringValue ?? ""),
                      "max_output_tokens": .integer(Int64(m["maxOutputTokens"]?.intValue ?? 0)),
                      "tool_use": .boolean(m["toolUse"] == .bool(true)), "reasoning": .boolean(m["reasoning"] == .bool(true))])
            }
        }
        return ModelCatalog.standard.models.map { m in
            .map(["id": .string(m.id), "name": .string(m.name), "provider": .string(m.provider),
                  "max_output_tokens": .integer(Int64(m.maxOutputTokens)), "tool_use": .boolean(m.supportsToolUse),
                  "reasoning": .boolean(m.supportsReasoning)])
        }
    }

    /// Who calls go out as: at most a masked key id, where it came from and when it expires.
    public func identity(profile: String? = nil) async -> LuaValue {
        switch kind {
        case .emulator:
            // The emulator's key pair is public (test/test); other configured pairs are masked.
            let id = emulatorCredentials?.accessKeyId ?? "test"
            let key = id == "test" ? id : (emulatorCredentials?.maskedAccessKeyId ?? "test")
            return .map(["access_key_id": .string(key), "source": .string("emulator"), "region": .string(region)])
        case .aws:
            var map: [String: LuaValue] = ["region": .string(region)]
            do {
                let resolved = try BedrockConfiguration.resolve(
                    environment: ConfigurationEnvironment(environment),
                    overrides: .init(profile: profile ?? defaultProfile, region: region))
                if resolved.bearerToken != nil {
                    map["source"] = .string("bearer-token")
                    return .map(map)
                }
                let chain = CredentialProviderChain.default(configuration: resolved)
                let credentials = try await chain.credentials()
                map["access_key_id"] = .string(credentials.maskedAccessKeyId)
                map["source"] = .string(environment["AWS_ACCESS_KEY_ID"] != nil ? "environment" : "profile:\(resolved.profileName)")
                if let expires = credentials.expiration {
                    map["expires"] = .string(ISO8601DateFormatter().string(from: expires))
                }
            } catch {
                map["error"] = .string(ScriptError.from(error).message)
            }
            return .map(map)
        }
    }

    /// Who calls made with `client` go out as, read from that client's own (cached)
    /// credential provider: asking again costs nothing, however often a script asks
    /// (a `credential_process` or SSO exchange runs only when the cache needs it).
    public func identity(using client: BedrockRuntimeClient, profile: String? = nil) async -> LuaValue {
        guard kind == .aws, let authenticator = client.configuration.authorizer as? BedrockAuthenticator else {
            return await identity(profile: profile)
        }
        var map: [String: LuaValue] = ["region": .string(region)]
        if authenticator.bearerToken != nil {
            map["source"] = .string("bearer-token")
            return .map(map)
        }
        do {
            let credentials = try await authenticator.credentials.credentials()
            map["access_key_id"] = .string(credentials.maskedAccessKeyId)
            let name = profile ?? defaultProfile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            map["source"] = .string(environment["AWS_ACCESS_KEY_ID"] != nil ? "environment" : "profile:\(name)")
            if let expires = credentials.expiration {
                map["expires"] = .string(ISO8601DateFormatter().string(from: expires))
            }
        } catch {
            map["error"] = .string(ScriptError.from(error).message)
        }
        return .map(map)
    }

    /// The role ARN calls with `profile` assume, when the profile names one (for the
    /// audit log; not a secret).
    func roleArn(profile: String?) -> String? {
        guard kind == .aws, let resolved = try? BedrockConfiguration.resolve(
            environment: ConfigurationEnvironment(environment),
            overrides: .init(profile: profile ?? defaultProfile, region: region)) else { return nil }
        return resolved.profile["role_arn"]
    }

    /// Closes the connection pools the target's clients share (call it after the last
    /// host's `shutdown()`) and stops the in-process emulator, if this target started one.
    public func shutdown() async {
        await transports.shutdown()
        await ownedEmulator?.stop()
    }
}

/// Talks to an emulator's admin API (`/_quarry/…`) with its admin token.
public struct EmulatorAdminClient: Sendable {
    let admin: EmulatorAdmin

    /// A client for `admin`.
    public init(_ admin: EmulatorAdmin) { self.admin = admin }

    /// `GET /_quarry/<path>` as JSON.
    public func get(_ path: String) async throws -> BedrockRuntime.JSONValue { try await send("GET", path, body: nil) }
    /// `POST /_quarry/<path>` with a JSON body.
    public func post(_ path: String, json: BedrockRuntime.JSONValue) async throws -> BedrockRuntime.JSONValue {
        try await send("POST", path, body: JSONWriter.compact.bytes(json))
    }
    /// `DELETE /_quarry/<path>`.
    public func delete(_ path: String) async throws -> BedrockRuntime.JSONValue { try await send("DELETE", path, body: nil) }

    private func send(_ method: String, _ path: String, body: [UInt8]?) async throws -> BedrockRuntime.JSONValue {
        var request = HTTPClientRequest(url: admin.url + "/_quarry/" + path)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "x-quarry-admin-token", value: admin.token)
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let json = try JSONParser.parse(bytes.readableBytesView)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw ScriptError(code: json["__type"]?.stringValue ?? "EmulatorError",
                              message: json["message"]?.stringValue ?? "emulator admin API answered \(response.status.code)",
                              status: Int(response.status.code))
        }
        return json
    }
}
