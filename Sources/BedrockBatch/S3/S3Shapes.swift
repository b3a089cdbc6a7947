import Foundation

/// The output of `PutObject`.
public struct PutObjectResponse: Sendable, Hashable {
    public var eTag: String?
}

/// The output of `GetObject`: the whole object.
public struct GetObjectResponse: Sendable, Hashable {
    public var body: Data
    public var contentType: String?
    public var eTag: String?
}

/// One object in a listing.
public struct S3Object: Sendable, Hashable {
    public var key: String
    public var size: Int64
    public var eTag: String?
    public var lastModified: String?
}

/// The input of `ListObjectsV2` (one page).
public struct ListObjectsV2Request: Sendable, Hashable {
    public var bucket: String
    public var prefix: String?
    public var continuationToken: String?
    public var startAfter: String?
    /// At most 1,000 (S3's own cap).
    public var maxKeys: Int?

    public init(
        bucket: String, prefix: String? = nil, continuationToken: String? = nil, startAfter: String? = nil,
        maxKeys: Int? = nil
    ) {
        self.bucket = bucket; self.prefix = prefix; self.continuationToken = continuationToken
        self.startAfter = startAfter; self.maxKeys = maxKeys
    }
}

/// The output of `ListObjectsV2`.
public struct ListObjectsV2Response: Sendable, Hashable {
    public var contents: [S3Object]
    public var isTruncated: Bool
    public var nextContinuationToken: String?
    public var keyCount: Int?
}
