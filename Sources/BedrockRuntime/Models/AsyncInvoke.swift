import Foundation

/// Where an async invocation writes its output.
public struct AsyncInvokeOutputDataConfig: Codable, Hashable, Sendable {
    public var s3OutputDataConfig: AsyncInvokeS3OutputDataConfig?
    public init(s3OutputDataConfig: AsyncInvokeS3OutputDataConfig) { self.s3OutputDataConfig = s3OutputDataConfig }
}

/// An S3 destination for async output.
public struct AsyncInvokeS3OutputDataConfig: Codable, Hashable, Sendable {
    public var s3Uri: String
    public var kmsKeyId: String?
    public var bucketOwner: String?
    public init(s3Uri: String, kmsKeyId: String? = nil, bucketOwner: String? = nil) {
        self.s3Uri = s3Uri; self.kmsKeyId = kmsKeyId; self.bucketOwner = bucketOwner
    }
}

/// A tag on an async invocation.
public struct Tag: Codable, Hashable, Sendable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

/// The input of `StartAsyncInvoke`. `clientRequestToken` is filled with a UUID when
/// absent, as botocore does, so a retried start is idempotent.
public struct StartAsyncInvokeRequest: Codable, Hashable, Sendable {
    public var clientRequestToken: String?
    public var modelId: String
    public var modelInput: JSONValue
    public var outputDataConfig: AsyncInvokeOutputDataConfig
    public var tags: [Tag]?
    public init(
        clientRequestToken: String? = nil, modelId: String, modelInput: JSONValue,
        outputDataConfig: AsyncInvokeOutputDataConfig, tags: [Tag]? = nil
    ) {
        self.clientRequestToken = clientRequestToken; self.modelId = modelId; self.modelInput = modelInput
        self.outputDataConfig = outputDataConfig; self.tags = tags
    }
}

/// The output of `StartAsyncInvoke`.
public struct StartAsyncInvokeResponse: Codable, Hashable, Sendable {
    public var invocationArn: String
}

/// The state of an async invocation (`InProgress`, `Completed`, `Failed`).
public struct AsyncInvokeStatus: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let inProgress: Self = "InProgress"
    public static let completed: Self = "Completed"
    public static let failed: Self = "Failed"
}

/// One async invocation, as `GetAsyncInvoke` and `ListAsyncInvokes` describe it.
public struct AsyncInvokeSummary: Codable, Hashable, Sendable {
    public var invocationArn: String
    public var modelArn: String
    public var clientRequestToken: String?
    public var status: AsyncInvokeStatus?
    public var failureMessage: String?
    public var submitTime: Date
    public var lastModifiedTime: Date?
    public var endTime: Date?
    public var outputDataConfig: AsyncInvokeOutputDataConfig
}

/// The output of `GetAsyncInvoke`.
public typealias GetAsyncInvokeResponse = AsyncInvokeSummary

/// The input of `ListAsyncInvokes` (all members go in the query string).
public struct ListAsyncInvokesRequest: Codable, Hashable, Sendable {
    public var submitTimeAfter: Date?
    public var submitTimeBefore: Date?
    public var statusEquals: AsyncInvokeStatus?
    public var maxResults: Int?
    public var nextToken: String?
    /// `SubmissionTime`.
    public var sortBy: String?
    /// `Ascending` or `Descending`.
    public var sortOrder: String?
    public init(
        submitTimeAfter: Date? = nil, submitTimeBefore: Date? = nil, statusEquals: AsyncInvokeStatus? = nil,
        maxResults: Int? = nil, nextToken: String? = nil, sortBy: String? = nil, sortOrder: String? = nil
    ) {
        self.submitTimeAfter = submitTimeAfter; self.submitTimeBefore = submitTimeBefore;
        self.statusEquals = statusEquals
        self.maxResults = maxResults; self.nextToken = nextToken; self.sortBy = sortBy; self.sortOrder = sortOrder
    }
}

/// The output of `ListAsyncInvokes`.
public struct ListAsyncInvokesResponse: Codable, Hashable, Sendable {
    public var nextToken: String?
    public var asyncInvokeSummaries: [AsyncInvokeSummary]?
}
