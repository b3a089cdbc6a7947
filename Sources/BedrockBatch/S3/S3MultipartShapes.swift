import BedrockRuntime
import Foundation

/// How `putObject` splits a large body: botocore's (s3transfer's) `TransferConfig`
/// defaults, an 8 MiB threshold and 8 MiB parts.
public struct S3TransferConfiguration: Sendable, Hashable {
    /// S3's smallest part (all but the last): 5 MiB.
    public static let minimumPartSize = 5 * 1024 * 1024
    /// S3's largest part: 5 GiB.
    public static let maximumPartSize = 5 * 1024 * 1024 * 1024
    /// S3's most parts in one upload.
    public static let maximumParts = 10_000
    /// S3's largest object: 5 TiB.
    public static let maximumObjectSize: Int64 = 5 * 1024 * 1024 * 1024 * 1024

    /// Bodies of at least this many bytes go up as a multipart upload (8 MiB).
    public var multipartThreshold: Int
    /// The size of each part but the last (8 MiB); raised, doubling, when the body
    /// would need more than 10,000 parts (as s3transfer does).
    public var partSize: Int

    /// Checked settings: a threshold of at least 1 byte, parts of 5 MiB to 5 GiB.
    public init(multipartThreshold: Int = 8 * 1024 * 1024, partSize: Int = 8 * 1024 * 1024) throws {
        guard multipartThreshold >= 1 else {
            throw BedrockError.invalidRequest("multipartThreshold must be at least 1 byte, got \(multipartThreshold)")
        }
        guard (Self.minimumPartSize...Self.maximumPartSize).contains(partSize) else {
            throw BedrockError.invalidRequest(
                "the multipart part size must be between 5 MiB and 5 GiB (\(Self.minimumPartSize)-"
                    + "\(Self.maximumPartSize) bytes), got \(partSize)")
        }
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
    }

    /// The defaults (8 MiB threshold, 8 MiB parts).
    public static let standard = S3TransferConfiguration(unchecked: 8 * 1024 * 1024, 8 * 1024 * 1024)

    private init(unchecked threshold: Int, _ part: Int) {
        multipartThreshold = threshold
        partSize = part
    }

    /// The part size for a body of `size` bytes: the configured size, doubled until
    /// the parts number at most 10,000; an error past S3's object size limit.
    public func partSize(forObjectOfSize size: Int) throws -> Int {
        guard size >= 0, Int64(size) <= Self.maximumObjectSize else {
            throw BedrockError.invalidRequest(
                "an S3 object may have at most \(Self.maximumObjectSize) bytes (5 TiB), got \(size)")
        }
        var part = min(max(partSize, Self.minimumPartSize), Self.maximumPartSize)
        while (size + part - 1) / part > Self.maximumParts {
            guard part <= Self.maximumPartSize / 2 else { return Self.maximumPartSize }
            part *= 2
        }
        return part
    }
}

/// The output of `CreateMultipartUpload`.
public struct CreateMultipartUploadResponse: Sendable, Hashable {
    public var bucket: String?
    public var key: String?
    public var uploadId: String
}

/// The output of `UploadPart`: the part's ETag and the CRC32 S3 recorded.
public struct UploadPartResponse: Sendable, Hashable {
    public var eTag: String
    public var checksumCRC32: String?
}

/// One part named in `CompleteMultipartUpload`.
public struct CompletedPart: Sendable, Hashable {
    public var partNumber: Int
    public var eTag: String
    public var checksumCRC32: String?

    public init(partNumber: Int, eTag: String, checksumCRC32: String? = nil) {
        self.partNumber = partNumber; self.eTag = eTag; self.checksumCRC32 = checksumCRC32
    }
}

/// The output of `CompleteMultipartUpload`: the object's ETag (`"…-N"` for N parts).
public struct CompleteMultipartUploadResponse: Sendable, Hashable {
    public var location: String?
    public var bucket: String?
    public var key: String?
    public var eTag: String?
}

/// One page of `ListParts`.
public struct ListPartsResponse: Sendable, Hashable {
    /// One uploaded part.
    public struct Part: Sendable, Hashable {
        public var partNumber: Int
        public var eTag: String?
        public var size: Int64?
    }
    public var parts: [Part]
    public var isTruncated: Bool
    public var nextPartNumberMarker: Int?
}

/// One page of `ListMultipartUploads`.
public struct ListMultipartUploadsResponse: Sendable, Hashable {
    /// One upload in progress.
    public struct Upload: Sendable, Hashable {
        public var key: String
        public var uploadId: String
        public var initiated: String?
    }
    public var uploads: [Upload]
    public var isTruncated: Bool
    public var nextKeyMarker: String?
    public var nextUploadIdMarker: String?
}

/// The input of `ListMultipartUploads` (one page).
public struct ListMultipartUploadsRequest: Sendable, Hashable {
    public var bucket: String
    public var prefix: String?
    /// At most 1,000 (S3's own cap).
    public var maxUploads: Int?
    public var keyMarker: String?
    public var uploadIdMarker: String?

    public init(
        bucket: String, prefix: String? = nil, maxUploads: Int? = nil, keyMarker: String? = nil,
        uploadIdMarker: String? = nil
    ) {
        self.bucket = bucket; self.prefix = prefix; self.maxUploads = maxUploads
        self.keyMarker = keyMarker; self.uploadIdMarker = uploadIdMarker
    }
}
