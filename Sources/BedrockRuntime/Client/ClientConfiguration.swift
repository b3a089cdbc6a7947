import Foundation
import Logging

extension BedrockRuntimeClient {
    /// Everything a client needs: where to send, how to authorize, how to retry and
    /// time out, and the transport seams.
    public struct Configuration: Sendable {
        /// The AWS region (`us-east-1`), used in the endpoint and the signature scope.
        public var region: String
        /// Where requests go; the regional AWS endpoint by default.
        public var endpoint: BedrockEndpoint
        /// Signs each attempt (SigV4 or bearer token).
        public var authorizer: any RequestAuthorizer
        public var retry: RetryConfiguration
        public var timeouts: Timeouts
        /// Caps on response bodies and stream results (32 MiB / 64 MiB by default).
        public var limits: ResponseLimits
        public var tls: TLSSettings
        public var proxy: ProxySettings?
        /// The `User-Agent` header.
        public var userAgent: String
        /// Layers around the transport, the first outermost (fault injection, recording).
        public var middlewares: [any TransportMiddleware]
        /// Replaces AsyncHTTPClient (the middlewares still wrap it).
        public var transport: (any HTTPTransport)?
        /// What streams do when they fail after output arrived.
        public var streamRetry: StreamRetryPolicy
        /// Called after every attempt of every call: the retry schedule, observable.
        public var attemptObserver: (@Sendable (_ operation: String, _ attempt: AttemptRecord) -> Void)?
        public var logger: Logger

        public init(
            region: String, endpoint: BedrockEndpoint? = nil, authorizer: any RequestAuthorizer,
            retry: RetryConfiguration = .default, timeouts: Timeouts = .default, limits: ResponseLimits = .default,
            tls: TLSSettings = TLSSettings(),
            proxy: ProxySettings? = nil, userAgent: String = BedrockRuntimeClient.defaultUserAgent,
            middlewares: [any TransportMiddleware] = [], transport: (any HTTPTransport)? = nil,
            streamRetry: StreamRetryPolicy = .failWithPartialResult,
            attemptObserver: (@Sendable (String, AttemptRecord) -> Void)? = nil,
            logger: Logger = Logger(label: "quarry.bedrock-runtime")
        ) throws {
            self.region = region
            self.endpoint = try endpoint ?? BedrockEndpoint.regional(region)
            self.authorizer = authorizer
            self.retry = retry; self.timeouts = timeouts; self.limits = limits; self.tls = tls; self.proxy = proxy
            self.userAgent = userAgent; self.middlewares = middlewares; self.transport = transport
            self.streamRetry = streamRetry; self.attemptObserver = attemptObserver; self.logger = logger
        }

        /// A configuration from the AWS conventions resolved by `BedrockConfiguration`
        /// (environment, profile, code): region and endpoint, bearer token when
        /// `AWS_BEARER_TOKEN_BEDROCK` is set (it wins over keys, as in botocore), else
        /// SigV4 with `credentials` or the default provider chain; retry mode and
        /// attempts; `AWS_CA_BUNDLE`; `HTTPS_PROXY`/`NO_PROXY`.
        public init(resolved: BedrockConfiguration, credentials: (any CredentialProvider)? = nil) throws {
            let authorizer = BedrockAuthorizer(configuration: resolved, credentials: credentials)
            var retry = RetryConfiguration()
            retry.mode = resolved.retryMode
            retry.maxAttempts = resolved.maxAttempts
            try self.init(
                region: authorizer.region, endpoint: resolved.endpoint, authorizer: authorizer, retry: retry,
                tls: TLSSettings(caBundlePath: resolved.caBundlePath),
                proxy: try ProxySettings.fromEnvironment(resolved.environment.variables))
        }

        /// Applies `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` from `environment`; a bad
        /// value is an error naming the variable.
        public mutating func applyRetryEnvironment(
            _ environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws {
            if let text = environment["AWS_MAX_ATTEMPTS"], !text.isEmpty {
                switch ConfigNumber.integer(text, range: 1...100) {
                case .success(let n): retry.maxAttempts = n
                case .failure(let problem): throw BedrockError.invalidRequest("AWS_MAX_ATTEMPTS: \(problem.text)")
                }
            }
            if let text = environment["AWS_RETRY_MODE"], !text.isEmpty {
                guard let mode = RetryMode(rawValue: text.lowercased()) else {
                    throw BedrockError.invalidRequest(
                        "AWS_RETRY_MODE must be 'standard', 'adaptive' or 'legacy', got '\(ConfigNumber.shown(text))'")
                }
                retry.mode = mode
            }
        }
    }

    /// The default `User-Agent`.
    public static let defaultUserAgent = "quarry/0.1 bedrock-runtime-swift"
}
