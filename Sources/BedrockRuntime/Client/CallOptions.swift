/// Per-call settings that override the client's configuration for one call.
public struct CallOptions: Sendable {
    /// Time-to-first-byte limit for each attempt.
    public var firstByteTimeout: Duration?
    /// Idle limit while reading a body or stream.
    public var idleTimeout: Duration?
    /// Total limit for the call (all attempts and waits).
    public var totalTimeout: Duration?
    /// A retry configuration for this call only.
    public var retry: RetryConfiguration?
    /// What a stream does when it fails after output has arrived.
    public var streamRetry: StreamRetryPolicy?
    /// Called after every attempt of this call (in addition to the client's hook).
    public var attemptObserver: (@Sendable (AttemptRecord) -> Void)?

    public init(
        firstByteTimeout: Duration? = nil, idleTimeout: Duration? = nil, totalTimeout: Duration? = nil,
        retry: RetryConfiguration? = nil, streamRetry: StreamRetryPolicy? = nil,
        attemptObserver: (@Sendable (AttemptRecord) -> Void)? = nil
    ) {
        self.firstByteTimeout = firstByteTimeout; self.idleTimeout = idleTimeout; self.totalTimeout = totalTimeout
        self.retry = retry; self.streamRetry = streamRetry; self.attemptObserver = attemptObserver
    }

    /// No overrides.
    public static let none = CallOptions()
}

/// What a streaming call does when the stream fails after some output arrived
/// (failures before the first event are always retried like any call).
public enum StreamRetryPolicy: String, Sendable, Hashable {
    /// Fail, with the output received so far attached to the error (`partialResult`).
    case failWithPartialResult
    /// Start the whole call again (the stream yields `.restarted`, and the result says
    /// how many restarts happened). Only for requests that are safe to repeat.
    case restart
}

/// The answer of an operation and how it was obtained.
@dynamicMemberLookup
public struct BedrockResult<Output: Sendable>: Sendable {
    /// The operation's output.
    public var output: Output
    /// Every attempt made, the last one the success.
    public var attempts: [AttemptRecord]
    /// `x-amzn-RequestId` of the successful answer.
    public var requestId: String?

    public init(output: Output, attempts: [AttemptRecord], requestId: String?) {
        self.output = output; self.attempts = attempts; self.requestId = requestId
    }

    /// Members of the output, directly: `result.usage`, `result.text`.
    public subscript<Value>(dynamicMember keyPath: KeyPath<Output, Value>) -> Value { output[keyPath: keyPath] }
}
