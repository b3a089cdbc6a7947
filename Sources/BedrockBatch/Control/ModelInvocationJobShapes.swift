import BedrockRuntime
import BedrockWire
import Foundation

/// A batch inference job's status, as the service names it (botocore's
/// `ModelInvocationJobStatus`); unknown values are kept.
public struct ModelInvocationJobStatus: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let submitted: Self = "Submitted"
    public static let inProgress: Self = "InProgress"
    public static let completed: Self = "Completed"
    public static let failed: Self = "Failed"
    public static let stopping: Self = "Stopping"
    public static let stopped: Self = "Stopped"
    public static let partiallyCompleted: Self = "PartiallyCompleted"
    public static let expired: Self = "Expired"
    public static let validating: Self = "Validating"
    public static let scheduled: Self = "Scheduled"

    /// Whether the job has ended (no later status follows).
    public var isTerminal: Bool {
        [Self.completed, .partiallyCompleted, .failed, .stopped, .expired].contains(self)
    }
}

/// How each record's `modelInput` is read: a model's native body (`InvokeModel`) or a
/// Converse request (`Converse`).
public struct ModelInvocationType: OpenEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let invokeModel: Self = "InvokeModel"
    public static let converse: Self = "Converse"
}

/// Where a job reads its JSONL records (`ModelInvocationJobInputDataConfig`).
public struct ModelInvocationJobInputDataConfig: Codable, Hashable, Sendable {
    public var s3InputDataConfig: ModelInvocationJobS3InputDataConfig?
    public init(s3InputDataConfig: ModelInvocationJobS3InputDataConfig) { self.s3InputDataConfig = s3InputDataConfig }
}

/// An S3 input location (`ModelInvocationJobS3InputDataConfig`).
public struct ModelInvocationJobS3InputDataConfig: Codable, Hashable, Sendable {
    public var s3InputFormat: String?
    public var s3Uri: String
    public var s3BucketOwner: String?
    public init(s3Uri: String, s3InputFormat: String? = nil, s3BucketOwner: String? = nil) {
        self.s3InputFormat = s3InputFormat; self.s3Uri = s3Uri; self.s3BucketOwner = s3BucketOwner
    }
}

/// Where a job writes its output (`ModelInvocationJobOutputDataConfig`).
public struct ModelInvocationJobOutputDataConfig: Codable, Hashable, Sendable {
    public var s3OutputDataConfig: ModelInvocationJobS3OutputDataConfig?
    public init(s3OutputDataConfig: ModelInvocationJobS3OutputDataConfig) {
        self.s3OutputDataConfig = s3OutputDataConfig
    }
}

/// An S3 output location (`ModelInvocationJobS3OutputDataConfig`).
public struct ModelInvocationJobS3OutputDataConfig: Codable, Hashable, Sendable {
    public var s3Uri: String
    public var s3EncryptionKeyId: String?
    public var s3BucketOwner: String?
    public init(s3Uri: String, s3EncryptionKeyId: String? = nil, s3BucketOwner: String? = nil) {
        self.s3Uri = s3Uri; self.s3EncryptionKeyId = s3EncryptionKeyId; self.s3BucketOwner = s3BucketOwner
    }
}

/// The input of `CreateModelInvocationJob`. Members are written in this order (the
/// order boto3 callers usually pass them, so bodies match botocore's byte for byte).
/// A missing `clientRequestToken` is filled with a UUID so a retried create is idempotent.
public struct CreateModelInvocationJobRequest: Codable, Hashable, Sendable {
    public var jobName: String
    public var roleArn: String
    public var modelId: String
    public var clientRequestToken: String?
    public var inputDataConfig: ModelInvocationJobInputDataConfig
    public var outputDataConfig: ModelInvocationJobOutputDataConfig
    public var vpcConfig: JSONValue?
    public var timeoutDurationInHours: Int?
    public var tags: [Tag]?
    public var modelInvocationType: ModelInvocationType?

    public init(
        jobName: String, roleArn: String, modelId: String, clientRequestToken: String? = nil,
        inputDataConfig: ModelInvocationJobInputDataConfig, outputDataConfig: ModelInvocationJobOutputDataConfig,
        vpcConfig: JSONValue? = nil, timeoutDurationInHours: Int? = nil, tags: [Tag]? = nil,
        modelInvocationType: ModelInvocationType? = nil
    ) {
        self.jobName = jobName; self.roleArn = roleArn; self.modelId = modelId
        self.clientRequestToken = clientRequestToken; self.inputDataConfig = inputDataConfig
        self.outputDataConfig = outputDataConfig; self.vpcConfig = vpcConfig
        self.timeoutDurationInHours = timeoutDurationInHours; self.tags = tags
        self.modelInvocationType = modelInvocationType
    }
}

/// The output of `CreateModelInvocationJob`.
public struct CreateModelInvocationJobResponse: Codable, Hashable, Sendable {
    public var jobArn: String
}

/// One batch inference job, as `GetModelInvocationJob` and `ListModelInvocationJobs`
/// describe it (`GetModelInvocationJobResponse`, `ModelInvocationJobSummary`).
public struct ModelInvocationJob: Codable, Hashable, Sendable {
    public var jobArn: String
    public var jobName: String?
    public var modelId: String
    public var clientRequestToken: String?
    public var roleArn: String
    public var status: ModelInvocationJobStatus?
    public var message: String?
    public var submitTime: Date
    public var lastModifiedTime: Date?
    public var endTime: Date?
    public var inputDataConfig: ModelInvocationJobInputDataConfig
    public var outputDataConfig: ModelInvocationJobOutputDataConfig
    public var vpcConfig: JSONValue?
    public var timeoutDurationInHours: Int?
    public var jobExpirationTime: Date?
    public var modelInvocationType: ModelInvocationType?
    public var totalRecordCount: Int64?
    public var processedRecordCount: Int64?
    public var successRecordCount: Int64?
    public var errorRecordCount: Int64?

    /// The job id: the last segment of its ARN (`…:model-invocation-job/abcdefghij12`).
    public var jobId: String { ModelInvocationJobARN.jobId(of: jobArn) }
}

/// The input of `ListModelInvocationJobs` (one page).
public struct ListModelInvocationJobsRequest: Hashable, Sendable {
    public var submitTimeAfter: Date?
    public var submitTimeBefore: Date?
    public var statusEquals: ModelInvocationJobStatus?
    public var nameContains: String?
    public var maxResults: Int?
    public var nextToken: String?
    /// `CreationTime`.
    public var sortBy: String?
    /// `Ascending` or `Descending`.
    public var sortOrder: String?

    public init(
        submitTimeAfter: Date? = nil, submitTimeBefore: Date? = nil, statusEquals: ModelInvocationJobStatus? = nil,
        nameContains: String? = nil, maxResults: Int? = nil, nextToken: String? = nil, sortBy: String? = nil,
        sortOrder: String? = nil
    ) {
        self.submitTimeAfter = submitTimeAfter; self.submitTimeBefore = submitTimeBefore
        self.statusEquals = statusEquals; self.nameContains = nameContains; self.maxResults = maxResults
        self.nextToken = nextToken; self.sortBy = sortBy; self.sortOrder = sortOrder
    }
}

/// The output of `ListModelInvocationJobs`.
public struct ListModelInvocationJobsResponse: Codable, Hashable, Sendable {
    public var nextToken: String?
    public var invocationJobSummaries: [ModelInvocationJob]?
}

/// Job ARNs and ids.
public enum ModelInvocationJobARN {
    /// The id at the end of a job ARN (the text itself when it has no `/`).
    public static func jobId(of arn: String) -> String {
        arn.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? arn
    }
}
