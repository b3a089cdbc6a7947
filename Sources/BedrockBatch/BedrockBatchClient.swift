import BedrockRuntime
import BedrockWire
import Foundation

/// A client for Amazon Bedrock batch inference: the control plane's model invocation
/// jobs (`bedrock.{region}.{dnsSuffix}`) and the S3 calls a batch needs (PutObject —
/// multipart above a threshold —, GetObject, ListObjectsV2 and the multipart upload
/// operations), path-style or virtual-hosted as botocore's `addressing_style` says.
/// It shares Bedrock Runtime's machinery — credentials, SigV4, retries, timeouts,
/// response limits, transport and middlewares — through one request pipeline per
/// service, each signed by that service's rules.
///
/// Owns its connection pool (unless given a transport): call `shutdown()` when done.
public final class BedrockBatchClient: Sendable {
    /// Where each service is and how it is signed, with the shared runtime settings.
    public struct Configuration: Sendable {
        /// The settings shared with Bedrock Runtime: region, retries, timeouts, limits,
        /// TLS, proxy, user agent, middlewares, transport, logger, and the authorizer
        /// used for the control plane. Its `endpoint` (Bedrock Runtime's) is not used.
        public var shared: BedrockRuntimeClient.Configuration
        /// The control plane's endpoint (`https://bedrock.{region}.{dnsSuffix}` by default).
        public var controlEndpoint: BedrockEndpoint
        /// S3's endpoint (`https://s3.{region}.{dnsSuffix}` by default).
        public var s3Endpoint: BedrockEndpoint
        /// Whether `s3Endpoint` is a custom endpoint URL rather than AWS's own: under
        /// `.auto` addressing, a custom endpoint is addressed path-style.
        public var s3EndpointIsCustom: Bool
        /// How requests name their bucket (botocore's `s3.addressing_style`; `.auto` by default).
        public var s3AddressingStyle: S3AddressingStyle = .auto
        /// When and how `putObject` uploads in parts (8 MiB threshold and parts by default).
        public var transfer: S3TransferConfiguration = .standard
        /// Signs S3 requests (SigV4 with S3's rules; a bearer token cannot sign them).
        public var s3Authorizer: any RequestAuthorizer

        /// A configuration from the runtime client's settings. Endpoints default to the
        /// region's; the S3 authorizer defaults to the runtime authorizer's
        /// credentials signed by S3's rules, and is an error when that authorizer has no
        /// SigV4 credentials to offer.
        public init(
            shared: BedrockRuntimeClient.Configuration, controlEndpoint: BedrockEndpoint? = nil,
            s3Endpoint: BedrockEndpoint? = nil, s3Authorizer: (any RequestAuthorizer)? = nil
        ) throws {
            self.shared = shared
            self.controlEndpoint = try controlEndpoint ?? Self.regional(.bedrock, shared.region)
            self.s3Endpoint = try s3Endpoint ?? Self.regional(.s3, shared.region)
            self.s3EndpointIsCustom = s3Endpoint != nil
            if let s3Authorizer {
                self.s3Authorizer = s3Authorizer
            } else if let sigV4 = shared.authorizer as? SigV4Authorizer {
                self.s3Authorizer = sigV4.with(rules: .s3)
            } else if let bedrock = shared.authorizer as? BedrockAuthorizer {
                self.s3Authorizer = SigV4Authorizer(region: bedrock.region, rules: .s3, provider: bedrock.credentials)
            } else {
                throw BedrockError.invalidRequest(
                    "S3 requests need SigV4 credentials: give the batch client an s3Authorizer")
            }
        }

        /// A configuration from the AWS conventions: the runtime settings from
        /// `resolved`, the control plane's endpoint from `AWS_ENDPOINT_URL_BEDROCK`
        /// (or the profile's `[services]` `bedrock`, `AWS_ENDPOINT_URL`, `endpoint_url`)
        /// and S3's from `AWS_ENDPOINT_URL_S3` (likewise), else the regional rules; the
        /// addressing style from the profile's `s3 = addressing_style = …` (else `auto`).
        public init(resolved: BedrockConfiguration, credentials: (any CredentialProvider)? = nil) throws {
            let shared = try BedrockRuntimeClient.Configuration(resolved: resolved, credentials: credentials)
            let control: BedrockEndpoint
            let s3: BedrockEndpoint
            do {
                control = try resolved.endpoint(for: .bedrock)
                s3 = try resolved.endpoint(for: .s3)
            } catch {
                throw BedrockError.invalidRequest("\(error)")
            }
            try self.init(shared: shared, controlEndpoint: control, s3Endpoint: s3)
            let rules = try? AWSServiceEndpoint.s3.resolve(
                region: resolved.region?.name, useFIPS: resolved.useFIPS, useDualStack: resolved.useDualStack)
            s3EndpointIsCustom = s3 != rules
            if let style = resolved.profile.nested["s3"]?["addressing_style"] {
                s3AddressingStyle = try S3AddressingStyle(parsing: style)
            }
        }

        static func regional(_ service: AWSServiceEndpoint, _ region: String) throws -> BedrockEndpoint {
            do {
                return try service.resolve(region: region)
            } catch {
                throw BedrockError.invalidRequest(
                    "no \(service.endpointPrefix) endpoint for region '\(region)': \(error)")
            }
        }
    }

    /// The configuration the client was made with.
    public let configuration: Configuration
    let control: RequestPipeline
    let s3: RequestPipeline
    /// Addresses each S3 request path-style or virtual-hosted.
    let router: S3Router
    private let ownedTransport: AsyncHTTPClientTransport?

    /// Creates a client. Fails when the TLS settings cannot be used.
    public convenience init(configuration: Configuration) throws {
        try self.init(configuration: configuration, now: { Date() })
    }

    /// A client whose signing clock is `now` (fixed in conformance tests).
    package init(configuration: Configuration, now: @escaping @Sendable () -> Date) throws {
        self.configuration = configuration
        let shared = configuration.shared
        let base: any HTTPTransport
        if let custom = shared.transport {
            base = custom
            ownedTransport = nil
        } else {
            let t = try AsyncHTTPClientTransport(
                tls: shared.tls, proxy: shared.proxy, connectTimeout: shared.timeouts.connect)
            base = t
            ownedTransport = t
        }
        var controlSettings = shared
        controlSettings.endpoint = configuration.controlEndpoint
        var s3Settings = shared
        s3Settings.endpoint = configuration.s3Endpoint
        s3Settings.authorizer = configuration.s3Authorizer
        control = RequestPipeline(configuration: controlSettings, transport: base, errorFormat: .json, now: now)
        s3 = RequestPipeline(configuration: s3Settings, transport: base, errorFormat: .s3XML, now: now)
        router = S3Router(
            style: configuration.s3AddressingStyle, endpoint: configuration.s3Endpoint,
            isCustomEndpoint: configuration.s3EndpointIsCustom)
    }

    /// Closes the connection pool. Call once, after the last call.
    public func shutdown() async throws {
        try await ownedTransport?.shutdown()
    }

    /// Decodes a JSON answer, naming what was wrong when it does not fit `type`.
    static func decode<T: Decodable>(_ type: T.Type, _ response: ServiceResponse, operation: String) throws -> T {
        do {
            return try JSONValueDecoder().decode(T.self, from: response.body)
        } catch {
            throw BedrockError.invalidResponse(
                "\(operation) answer could not be read: \(BedrockRuntimeClient.describe(error))",
                status: response.status, requestId: response.requestId)
        }
    }
}
