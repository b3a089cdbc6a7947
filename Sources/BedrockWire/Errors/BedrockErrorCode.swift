/// The error codes Bedrock Runtime returns, named exactly as the service names them
/// (`x-amzn-ErrorType`, the `__type` of an error body, or the `:exception-type` of a
/// stream exception in its camelCase member form).
///
/// The client maps responses to these codes and the emulator produces them, so both
/// sides share one table of statuses and retry rules.
public enum BedrockErrorCode: String, Sendable, CaseIterable, Codable {
    case accessDenied = "AccessDeniedException"
    case conflict = "ConflictException"
    case internalServer = "InternalServerException"
    case modelError = "ModelErrorException"
    case modelNotReady = "ModelNotReadyException"
    case modelStreamError = "ModelStreamErrorException"
    case modelTimeout = "ModelTimeoutException"
    case resourceNotFound = "ResourceNotFoundException"
    case serviceQuotaExceeded = "ServiceQuotaExceededException"
    case serviceUnavailable = "ServiceUnavailableException"
    case throttling = "ThrottlingException"
    case validation = "ValidationException"

    /// The HTTP status the service answers with for this error.
    public var httpStatus: Int {
        switch self {
        case .throttling, .modelNotReady: 429
        case .validation, .serviceQuotaExceeded, .conflict: 400
        case .accessDenied: 403
        case .resourceNotFound: 404
        case .modelTimeout: 408
        case .modelError, .modelStreamError: 424
        case .internalServer: 500
        case .serviceUnavailable: 503
        }
    }

    /// The member name used for this error inside an event stream
    /// (`:exception-type`), e.g. `throttlingException`.
    public var streamMemberName: String {
        let name = rawValue
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }

    /// Finds a code from any of the forms the service uses: `ThrottlingException`,
    /// `throttlingException`, or a qualified `ThrottlingException:http://...` /
    /// `com.amazon...#ThrottlingException` string.
    public init?(wireName: String) {
        var name = Substring(wireName)
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
        guard let first = name.first else { return nil }
        let normalized = first.uppercased() + name.dropFirst()
        self.init(rawValue: normalized)
    }
}

extension BedrockErrorCode {
    /// Whether the service asks the caller to slow down (HTTP 429 codes). Retries of
    /// these back off from a larger base and cost less retry quota.
    public var isThrottling: Bool {
        switch self {
        case .throttling, .modelNotReady: true
        default: false
        }
    }

    /// Whether a new attempt of the same request may succeed: throttling, a model that
    /// is loading, and the service's own transient failures. Validation, access,
    /// missing resources, quotas, conflicts and model errors need a change first.
    public var isTransient: Bool {
        switch self {
        case .throttling, .modelNotReady, .serviceUnavailable, .internalServer: true
        case .accessDenied, .conflict, .modelError, .modelStreamError, .modelTimeout,
            .resourceNotFound, .serviceQuotaExceeded, .validation:
            false
        }
    }
}
