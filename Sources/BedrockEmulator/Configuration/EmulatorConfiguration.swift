import Foundation

/// An access key pair the emulator accepts (optionally with a session token).
public struct EmulatorCredential: Sendable, Codable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The access key id (`AKIA…`, or `test`).
    public var accessKeyID: String
    /// The secret; never printed.
    public var secretAccessKey: String
    /// When set, requests with this key must carry this `x-amz-security-token`.
    public var sessionToken: String?
    /// When set, requests after this instant fail with `ExpiredTokenException`.
    public var expiration: Date?

    /// A key pair.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// LocalStack's convention, so existing tooling works unchanged.
    public static let test = EmulatorCredential(accessKeyID: "test", secretAccessKey: "test")

    /// Only the access key id, masked; the secret and token never appear.
    public var description: String { "EmulatorCredential(\(Self.mask(accessKeyID)))" }

    /// `dump` and debuggers see the masked key id only.
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": Self.mask(accessKeyID)]) }

    static func mask(_ id: String) -> String {
        id.count <= 8 ? id : "\(id.prefix(4))…\(id.suffix(4))"
    }
}

/// A per-model, per-region quota, throttled like the service (`ThrottlingException`).
public struct EmulatorQuota: Sendable, Codable, Equatable {
    /// The model it applies to (`nil`: every model, counted per model).
    public var model: String?
    /// The region it applies to (`nil`: every region, counted per region).
    public var region: String?
    /// Requests allowed in any 60-second window.
    public var requestsPerMinute: Int?
    /// Input plus output tokens allowed in any 60-second window.
    public var tokensPerMinute: Int?

    /// A quota.
    public init(model: String? = nil, region: String? = nil, requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil)
    {
        self.model = model
        self.region = region
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }

    enum CodingKeys: String, CodingKey {
        case model, region
        case requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute"
    }
}

/// Everything that shapes one emulator instance. Its description masks every key id
/// and never shows a secret, session token, bearer token or admin token.
public struct EmulatorConfiguration: Sendable, CustomStringConvertible, CustomReflectable {
    /// Address to listen on (loopback by default).
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free port.
    public var port: Int = 0
    /// Key pairs accepted for SigV4.
    public var credentials: [EmulatorCredential] = [.test]
    /// Bearer tokens accepted (`AWS_BEARER_TOKEN_BEDROCK`).
    public var bearerTokens: [String] = []
    /// Regions served; the signed region picks one. The first is the default.
    public var regions: [String] = ["us-east-1", "us-west-2", "eu-west-1"]
    /// Serve HTTPS with a self-signed certificate (HTTP/2 and HTTP/1.1 via ALPN).
    public var tls: Bool = false
    /// Where to write the CA certificate clients should trust when `tls` is on
    /// (`nil`: a file in the temporary directory).
    public var caCertificatePath: String?
    /// Quotas (none by default).
    public var quotas: [EmulatorQuota] = []
    /// Time per generated token: between stream events, and in total before a
    /// non-streaming answer. The default, 50 µs (1 ms per 20 tokens), makes streams
    /// arrive as a paced sequence of events, as from the service, while keeping
    /// tests fast; `.zero` turns pacing off.
    public static let defaultLatencyPerToken: Duration = .microseconds(50)
    /// See ``defaultLatencyPerToken``.
    public var latencyPerToken: Duration = EmulatorConfiguration.defaultLatencyPerToken
    /// Allowed difference between the signed time and the emulator's clock.
    public var clockSkew: Duration = .seconds(300)
    /// The token the admin API requires in `x-quarry-admin-token` (`nil`: random).
    public var adminToken: String?
    /// The models served.
    public var catalog: ModelCatalog = .standard
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 25 * 1024 * 1024
    /// Event-loop threads for the server (0: one per core).
    public var threads: Int = 0
    /// How long a connection may wait for the client: to finish a request head after
    /// it opens (or after the last response), or between body parts. Then it is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// The most connections open at once. When full, the oldest connection that is
    /// waiting for its client (idle or half-sent) is closed to make room; when none is,
    /// the new connection is closed at once.
    public var maxConnections: Int = 256
    /// The most request-body bytes buffered across all connections at once (each body
    /// is also bounded by ``maxBodyBytes``). A request whose body would go past it is
    /// answered 503 `ServiceUnavailableException` and its connection closed.
    public var maxBufferedBodyBytes: Int = 256 * 1024 * 1024
    /// Host names (without port) accepted in the `Host` header besides loopback names
    /// and ``host``: anything else is refused, so a page on a rebinding domain cannot
    /// talk to the emulator.
    public var allowedHosts: [String] = []
    /// The most async invocations kept (the oldest completed ones are forgotten first).
    public var maxAsyncInvokeJobs: Int = 1000
    /// The most requests kept in the request log (it is also bounded to about 8 MiB).
    public var maxRecordedRequests: Int = 10_000
    /// The words the emulated guardrails block by default.
    public static let defaultGuardrailWords = ["forbidden", "blocked-topic", "classified"]
    /// The words ApplyGuardrail and a Converse `guardrailConfig` block (case-insensitive
    /// substrings; config file `guardrail_words`), besides the PII shapes.
    public var guardrailWords: [String] = EmulatorConfiguration.defaultGuardrailWords
    /// Scripted replies in force from the start (config file `responses`).
    public var responses: [ScriptedReply] = []
    /// How long a batch inference job stays in each lifecycle state (and between the
    /// chunks of records it processes). Config file `batch_step_seconds`.
    public var batchStepDuration: Duration = .seconds(1)
    /// The fewest records a batch inference job may have: the service's documented
    /// minimum is 100 (its "Minimum number of records per batch inference job" quota).
    /// Config file `batch_minimum_records`; tests lower it.
    public var batchMinimumRecords: Int = 100
    /// The most records one job may have (the service's default quota: 50,000).
    public var batchMaximumRecords: Int = 50_000
    /// The most batch jobs submitted or in progress at once (more get
    /// `ServiceQuotaExceededException`). Config file `max_active_batch_jobs`.
    public var maxActiveBatchJobs: Int = 20
    /// The most batch jobs remembered (the oldest finished ones are forgotten first).
    public var maxBatchJobs: Int = 1000
    /// The most bytes the emulator's S3 holds in all its objects together.
    /// Config file `max_stored_object_bytes`.
    public var maxStoredObjectBytes: Int = 512 * 1024 * 1024

    /// The defaults: loopback, a free port, `test`/`test`, three regions, plain HTTP.
    public init() {}

    public var description: String {
        "EmulatorConfiguration(host: \(host), port: \(port), tls: \(tls), regions: \(regions), "
            + "credentials: \(credentials.map { EmulatorCredential.mask($0.accessKeyID) }), "
            + "bearerTokens: \(bearerTokens.count), quotas: \(quotas.count), latencyPerToken: \(latencyPerToken))"
    }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}
