import BedrockWire
import Foundation
import Synchronization

/// The emulator's S3: buckets of objects in memory, shared by the S3 operations and
/// the batch jobs that read their input from it and write their output to it.
///
/// Bounded: all objects together hold at most `byteCapacity` bytes; a put beyond it
/// is refused (S3 itself has no such limit, the emulator's memory has).
final class ObjectStore: Sendable {
    /// One stored object.
    struct StoredObject: Sendable {
        var bytes: [UInt8]
        var contentType: String
        var etag: String
        var modified: Date

        /// What the object costs against the store's capacity: its body, its key and
        /// metadata, and a fixed overhead (an empty body with a huge Content-Type is not
        /// free).
        static func cost(key: String, bytes: Int, contentType: String) -> Int {
            bytes + key.utf8.count + contentType.utf8.count + ObjectStore.perObjectOverhead
        }
    }

    /// What each object costs besides its bytes, key and content type (the etag, the
    /// date, the dictionary entry).
    static let perObjectOverhead = 256

    private struct State {
        var buckets: [String: [String: StoredObject]] = [:]
        var bytes = 0
    }

    let byteCapacity: Int
    private let state = Mutex(State())

    init(byteCapacity: Int) {
        self.byteCapacity = max(0, byteCapacity)
    }

    /// S3's bucket naming rules (the common subset): 3–63 characters of lower-case
    /// letters, digits, `-` and `.`, starting and ending with a letter or digit.
    static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else {
            return false
        }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// Creates a bucket; false when it already exists.
    func createBucket(_ name: String) -> Bool {
        let cost = name.utf8.count + Self.perObjectOverhead
        return state.withLock { state in
            // A bucket costs like an empty object, so buckets cannot grow without bound either.
            guard state.buckets[name] == nil, state.bytes + cost <= byteCapacity else { return false }
            state.buckets[name] = [:]
            state.bytes += cost
            return true
        }
    }

    func bucketExists(_ name: String) -> Bool { state.withLock { $0.buckets[name] != nil } }

    /// Why a put was refused.
    enum PutError: Error, Sendable {
        case noSuchBucket
        case full(capacity: Int)
    }

    /// Stores (or replaces) an object; returns its ETag (quoted, as S3 sends it).
    @discardableResult
    func put(bucket: String, key: String, bytes: [UInt8], contentType: String = "binary/octet-stream") throws(PutError)
        -> String
    {
        let etag = "\"" + String(SigV4ReceivedRequest.sha256Hex(ofBody: bytes).prefix(32)) + "\""
        let object = StoredObject(bytes: bytes, contentType: contentType, etag: etag, modified: Date())
        let cost = StoredObject.cost(key: key, bytes: bytes.count, contentType: contentType)
        let outcome: Result<String, PutError> = state.withLock { state in
            guard let existing = state.buckets[bucket] else { return .failure(.noSuchBucket) }
            let replaced =
                existing[key].map { StoredObject.cost(key: key, bytes: $0.bytes.count, contentType: $0.contentType) }
                ?? 0
            guard state.bytes - replaced + cost <= byteCapacity else { return .failure(.full(capacity: byteCapacity)) }
            // Changed in place: copying the bucket's dictionary made every put O(objects).
            state.buckets[bucket]?[key] = object
            state.bytes += cost - replaced
            return .success(etag)
        }
        return try outcome.get()
    }

    /// An object, or nil when the bucket or key does not exist.
    func get(bucket: String, key: String) -> StoredObject? {
        state.withLock { $0.buckets[bucket]?[key] }
    }

    /// Keys under `prefix`, in UTF-8 binary order (S3's listing order), with sizes and
    /// ETags; nil when the bucket does not exist.
    func list(bucket: String, prefix: String) -> [(key: String, object: StoredObject)]? {
        let objects: [String: StoredObject]? = state.withLock { $0.buckets[bucket] }
        guard let objects else { return nil }
        return objects.filter { $0.key.hasPrefix(prefix) }
            .map { (key: $0.key, object: $0.value) }
            .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
    }
}

/// An `s3://bucket/key` location.
struct S3Location: Sendable, Equatable {
    var bucket: String
    var key: String

    /// Parses `s3://bucket[/key]`; nil unless the bucket name is valid.
    init?(_ uri: String) {
        guard uri.hasPrefix("s3://") else { return nil }
        let rest = uri.dropFirst("s3://".count)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bucket = parts.first.map(String.init), ObjectStore.isValidBucketName(bucket) else { return nil }
        self.bucket = bucket
        self.key = parts.count > 1 ? String(parts[1]) : ""
    }

    init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    var uri: String { "s3://\(bucket)/\(key)" }
}
