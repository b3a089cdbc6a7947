import BedrockWire

/// The code of a service error: one of the 12 the service documents, or one it added
/// since (kept by name, never dropped).
public enum ServiceErrorCode: Sendable, Hashable, CustomStringConvertible {
    case known(BedrockErrorCode)
    case unknown(String)

    /// Reads a code from `ThrottlingException`, `throttlingException`,
    /// `ThrottlingException:http://...` or `ns#ThrottlingException`.
    public init(wireName: String) {
        if let code = BedrockErrorCode(wireName: wireName) {
            self = .known(code)
        } else {
            var name = Substring(wireName)
            if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
            if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
            // A server names the code: only an identifier reaches a caller, never text
            // that could carry an echoed token or control characters.
            self = .unknown(ServiceTextScrubber.identifier(String(name)) ?? "UnknownError")
        }
    }

    /// The service's name for the code.
    public var name: String {
        switch self {
        case let .known(c): c.rawValue
        case let .unknown(n): n
        }
    }

    public var description: String { name }
}

/// How a request failed below HTTP: the kinds a caller (or a retry rule) tells apart.
public enum TransportFailure: String, Sendable, Hashable, CaseIterable {
    /// The host name did not resolve.
    case dnsFailure = "DNSFailure"
    /// The TCP connection was refused or could not be made.
    case connectFailure = "ConnectFailure"
    /// No connection within the connect timeout.
    case connectTimeout = "ConnectTimeout"
    /// The TLS handshake or certificate check failed.
    case tlsFailure = "TLSFailure"
    /// The peer closed or reset the connection mid-request.
    case connectionReset = "ConnectionReset"
    /// No response head within the time-to-first-byte deadline.
    case firstByteTimeout = "FirstByteTimeout"
    /// No data for longer than the idle timeout while reading a body or stream.
    case idleTimeout = "IdleTimeout"
    /// The whole call took longer than its total deadline.
    case totalTimeout = "TotalTimeout"
    /// Any other I/O failure.
    case other = "TransportError"

    /// Whether this is one of the timeouts.
    public var isTimeout: Bool {
        switch self {
        case .connectTimeout, .firstByteTimeout, .idleTimeout, .totalTimeout: true
        default: false
        }
    }
}

/// Every failure of a Bedrock call, as one type: service errors with their code,
/// transport failures, bad input, bad responses, incomplete streams and cancellation.
///
/// Carries what a caller needs to decide what to do (code, status, whether it is
/// retryable and why) and what happened (the attempts made). It never contains
/// credentials: messages come from the service or from this client's own text, and
/// every message is scrubbed of signing material on the way in.
public struct BedrockError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: Sendable, Hashable {
        /// The service answered with an error.
        case service(ServiceErrorCode)
        /// The request did not get an HTTP answer.
        case transport(TransportFailure)
        /// The input was rejected before anything was sent.
        case invalidRequest
        /// No credentials could be found or loaded to sign the request (nothing was
        /// sent): a configuration problem, as botocore's `NoCredentialsError`.
        case missingCredentials
        /// The answer could not be understood (bad JSON, bad frame, missing field).
        case invalidResponse
        /// A stream ended without its final event.
        case incompleteStream
        /// The answer grew past one of the client's size caps (`ResponseLimits`); the
        /// message names the cap and its figure.
        case responseTooLarge
        /// The calling task was cancelled.
        case cancelled
    }

    public var kind: Kind
    /// What went wrong, in words (the service's message for service errors), with any
    /// signing material a server echoed replaced by `[redacted]` (`ServiceTextScrubber`).
    public var message: String {
        get { scrubbedMessage }
        set { scrubbedMessage = ServiceTextScrubber.scrub(newValue) }
    }
    private var scrubbedMessage: String
    /// HTTP status of the answer, when there was one.
    public var httpStatus: Int?
    /// `x-amzn-RequestId` of the answer, when there was one.
    public var requestId: String?
    /// The status the model returned to Bedrock (`originalStatusCode` of ModelError).
    public var originalStatusCode: Int?
    /// The resource the model named (`resourceName` of ModelError).
    public var resourceName: String?
    /// Whether trying again could succeed.
    public var isRetryable: Bool
    /// Why it is or is not retryable, e.g. "throttling", "retry quota exhausted".
    public var retryReason: String
    /// Every attempt made, in order.
    public var attempts: [AttemptRecord]
    /// Output already received when a stream failed part-way.
    public var partialResult: ConverseStreamResult?

    public init(
        kind: Kind, message: String, httpStatus: Int? = nil, requestId: String? = nil,
        originalStatusCode: Int? = nil, resourceName: String? = nil,
        isRetryable: Bool? = nil, retryReason: String? = nil, attempts: [AttemptRecord] = []
    ) {
        self.kind = kind
        self.scrubbedMessage = ServiceTextScrubber.scrub(message)
        self.httpStatus = httpStatus
        self.requestId = ServiceTextScrubber.identifier(requestId)
        self.originalStatusCode = originalStatusCode
        self.resourceName = resourceName.map(ServiceTextScrubber.scrub)
        let classified = RetryClassifier.classify(kind: kind, httpStatus: httpStatus)
        self.isRetryable = isRetryable ?? classified.retryable
        self.retryReason = retryReason ?? classified.reason
        self.attempts = attempts
        self.partialResult = nil
    }

    /// A short code: the service's error name (`ThrottlingException`) or this client's
    /// name for the failure (`ConnectTimeout`, `IncompleteStream`, ...).
    public var code: String {
        switch kind {
        case let .service(c): c.name
        case let .transport(t): t.rawValue
        case .invalidRequest: "InvalidRequest"
        case .missingCredentials: "MissingCredentials"
        case .invalidResponse: "InvalidResponse"
        case .incompleteStream: "IncompleteStream"
        case .responseTooLarge: "ResponseTooLarge"
        case .cancelled: "Cancelled"
        }
    }

    /// The service code when this is one of the 12 documented service errors.
    public var serviceCode: BedrockErrorCode? {
        if case let .service(.known(c)) = kind { return c }
        return nil
    }

    /// Whether this is a throttling-class error (429 codes).
    public var isThrottling: Bool {
        if case let .service(.known(c)) = kind { return c.isThrottling }
        if case .service = kind { return httpStatus == 429 }
        return false
    }

    public var description: String {
        var s = "\(code): \(message)"
        if let httpStatus { s += " (HTTP \(httpStatus))" }
        if let requestId { s += " [request \(requestId)]" }
        if attempts.count > 1 { s += " after \(attempts.count) attempts" }
        return s
    }

    /// The answer passed the cap `name` of `limit` bytes.
    static func responseTooLarge(_ what: String, limit: Int, setting: String) -> BedrockError {
        BedrockError(
            kind: .responseTooLarge,
            message: "\(what) exceeds the \(ResponseLimits.describe(bytes: limit)) cap (ResponseLimits.\(setting))")
    }

    /// An answer (or event, or tool input) of more JSON values than `limit`: not parsed.
    package static func tooManyJSONValues(_ what: String, limit: Int) -> BedrockError {
        BedrockError(
            kind: .responseTooLarge,
            message: "\(what) holds more than \(limit) JSON values (ResponseLimits.maxJSONValues); not parsed")
    }

    package static func invalidRequest(_ message: String) -> BedrockError {
        BedrockError(kind: .invalidRequest, message: message)
    }

    package static func invalidResponse(_ message: String, status: Int? = nil, requestId: String? = nil) -> BedrockError
    {
        BedrockError(kind: .invalidResponse, message: message, httpStatus: status, requestId: requestId)
    }
}
