import BedrockWire
import Crypto
import Foundation
import Synchronization

/// The emulator's S3: buckets of objects in memory, shared by the S3 operations and
/// the batch jobs that read their input from it and write their output to it.
///
/// Bounded: all objects together hold at most `byteCapacity` bytes; a put beyond it
/// is refused (S3 itself has no such limit, the emulator's memory has). Multipart
/// uploads in progress count against the same capacity (each upload and each part
/// its bytes plus an overhead), so abandoned uploads cannot grow memory without bound:
/// they fill the store until aborted.
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

    /// An object key as S3 holds it: its UTF-8 bytes. A `String` key would make
    /// canonically equivalent keys (`K` and the Kelvin sign, NFC and NFD) one object.
    struct Key: Sendable, Hashable {
        let bytes: [UInt8]
        init(_ text: String) { bytes = Array(text.utf8) }
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Whether `key` starts with `prefix`, byte for byte.
    static func hasPrefix(_ key: String, _ prefix: String) -> Bool { key.utf8.starts(with: prefix.utf8) }

    /// Whether two keys are the same bytes.
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    private struct State {
        var buckets: [String: [Key: StoredObject]] = [:]
        var uploads: [String: MultipartUpload] = [:]
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
        let etag = "\"" + Self.hex(Self.md5(bytes)) + "\""
        let object = StoredObject(bytes: bytes, contentType: contentType, etag: etag, modified: Date())
        let cost = StoredObject.cost(key: key, bytes: bytes.count, contentType: contentType)
        let outcome: Result<String, PutError> = state.withLock { state in
            guard let existing = state.buckets[bucket] else { return .failure(.noSuchBucket) }
            let replaced =
                existing[Key(key)].map {
                    StoredObject.cost(key: key, bytes: $0.bytes.count, contentType: $0.contentType)
                }
                ?? 0
            guard state.bytes - replaced + cost <= byteCapacity else { return .failure(.full(capacity: byteCapacity)) }
            // Changed in place: copying the bucket's dictionary made every put O(objects).
            state.buckets[bucket]?[Key(key)] = object
            state.bytes += cost - replaced
            return .success(etag)
        }
        return try outcome.get()
    }

    /// An object, or nil when the bucket or key does not exist.
    func get(bucket: String, key: String) -> StoredObject? {
        state.withLock { $0.buckets[bucket]?[Key(key)] }
    }

    /// Keys under `prefix`, in UTF-8 binary order (S3's listing order), with sizes and
    /// ETags; nil when the bucket does not exist.
    func list(bucket: String, prefix: String) -> [(key: String, object: StoredObject)]? {
        let objects: [Key: StoredObject]? = state.withLock { $0.buckets[bucket] }
        guard let objects else { return nil }
        let prefixBytes = Array(prefix.utf8)
        return objects.filter { $0.key.bytes.starts(with: prefixBytes) }
            .sorted { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }
            .map { (key: $0.key.text, object: $0.value) }
    }
}

// MARK: Multipart uploads

extension ObjectStore {
    /// S3's smallest part, except the last: 5 MiB.
    static let minimumPartBytes = 5 * 1024 * 1024
    /// S3's part numbers.
    static let partNumbers = 1...10_000
    /// What each stored part costs besides its bytes (its ETag, date and dictionary entry).
    static let perPartOverhead = 128

    /// One uploaded part of a multipart upload.
    struct UploadedPart: Sendable {
        var bytes: [UInt8]
        /// The MD5 of `bytes` (16 bytes): the part's ETag, and its share of the object's.
        var md5: [UInt8]
        var modified: Date
        var etag: String { "\"" + ObjectStore.hex(md5) + "\"" }
    }

    /// A multipart upload in progress: where it will land and the parts so far.
    struct MultipartUpload: Sendable {
        var bucket: String
        var key: String
        var contentType: String
        var checksumAlgorithm: String?
        var initiated: Date
        var parts: [Int: UploadedPart] = [:]
        /// What the upload holds against the store's capacity: its own overhead and
        /// every part's.
        var cost: Int

        static func baseCost(key: String, contentType: String, checksumAlgorithm: String?) -> Int {
            key.utf8.count + contentType.utf8.count + (checksumAlgorithm?.utf8.count ?? 0)
                + ObjectStore.perObjectOverhead
        }
    }

    /// Why a multipart operation was refused.
    enum MultipartError: Error, Sendable, Equatable {
        case noSuchBucket
        /// No upload with this id for this bucket and key (never started, completed,
        /// aborted, or another bucket's or key's).
        case noSuchUpload
        case full(capacity: Int)
        /// A listed part was never uploaded, or its ETag differs.
        case invalidPart(number: Int, etag: String)
        /// The listed part numbers are not strictly ascending.
        case invalidPartOrder
        /// A part other than the last is below ``ObjectStore/minimumPartBytes``.
        case entityTooSmall(number: Int, size: Int, etag: String)
    }

    /// Starts a multipart upload; returns its id (random, unguessable).
    func createUpload(
        bucket: String, key: String, contentType: String, checksumAlgorithm: String?
    ) throws(MultipartError) -> String {
        var random = SystemRandomNumberGenerator()
        let id = (0..<4).map { _ in String(random.next() as UInt64, radix: 36) }.joined(separator: ".")
        let cost = MultipartUpload.baseCost(key: key, contentType: contentType, checksumAlgorithm: checksumAlgorithm)
        let upload = MultipartUpload(
            bucket: bucket, key: key, contentType: contentType, checksumAlgorithm: checksumAlgorithm,
            initiated: Date(), cost: cost)
        let outcome: Result<String, MultipartError> = state.withLock { state in
            guard state.buckets[bucket] != nil else { return .failure(.noSuchBucket) }
            guard state.bytes + cost <= byteCapacity else { return .failure(.full(capacity: byteCapacity)) }
            state.uploads[id] = upload
            state.bytes += cost
            return .success(id)
        }
        return try outcome.get()
    }

    /// Stores (or replaces) part `number` of an upload; returns its ETag. The caller
    /// checks `number` is in ``ObjectStore/partNumbers``.
    func putPart(bucket: String, key: String, uploadID: String, number: Int, bytes: [UInt8]) throws(MultipartError)
        -> String
    {
        let part = UploadedPart(bytes: bytes, md5: Self.md5(bytes), modified: Date())
        let cost = bytes.count + Self.perPartOverhead
        let outcome: Result<String, MultipartError> = state.withLock { state in
            guard var upload = state.uploads[uploadID], upload.bucket == bucket, Self.same(upload.key, key) else {
                return .failure(.noSuchUpload)
            }
            let replaced = upload.parts[number].map { $0.bytes.count + Self.perPartOverhead } ?? 0
            guard state.bytes - replaced + cost <= byteCapacity else { return .failure(.full(capacity: byteCapacity)) }
            // Taken out while changed, so the parts dictionary is not copied.
            state.uploads[uploadID] = nil
            upload.parts[number] = part
            upload.cost += cost - replaced
            state.uploads[uploadID] = upload
            state.bytes += cost - replaced
            return .success(part.etag)
        }
        return try outcome.get()
    }

    /// An upload in progress (for ListParts), or nil when there is none with this id
    /// for this bucket and key.
    func upload(bucket: String, key: String, uploadID: String) -> MultipartUpload? {
        state.withLock { state in
            guard let upload = state.uploads[uploadID], upload.bucket == bucket, Self.same(upload.key, key) else {
                return nil
            }
            return upload
        }
    }

    /// A bucket's uploads in progress under `prefix` (ids and uploads, without their
    /// parts' bytes), in key order then oldest first; nil when the bucket does not exist.
    func uploads(bucket: String, prefix: String) -> [(id: String, key: String, initiated: Date)]? {
        let found: [(id: String, key: String, initiated: Date)]? = state.withLock { state in
            guard state.buckets[bucket] != nil else { return nil }
            return state.uploads.compactMap { id, upload in
                upload.bucket == bucket && Self.hasPrefix(upload.key, prefix)
                    ? (id: id, key: upload.key, initiated: upload.initiated) : nil
            }
        }
        return found?.sorted { left, right in
            let (a, b) = (Array(left.key.utf8), Array(right.key.utf8))
            if a != b { return a.lexicographicallyPrecedes(b) }
            return (left.initiated, left.id) < (right.initiated, right.id)
        }
    }

    /// Forgets an upload and its parts.
    func abortUpload(bucket: String, key: String, uploadID: String) throws(MultipartError) {
        let found = state.withLock { state in
            guard let upload = state.uploads[uploadID], upload.bucket == bucket, Self.same(upload.key, key) else {
                return false
            }
            state.uploads[uploadID] = nil
            state.bytes -= upload.cost
            return true
        }
        guard found else { throw .noSuchUpload }
    }

    /// Assembles the listed parts, in order, into the object (replacing any object at
    /// that key) and forgets the upload; returns the object's ETag, S3's multipart form:
    /// the MD5 of the parts' MD5s, `-`, the number of parts. S3's rules: part numbers
    /// strictly ascending, each part uploaded with the ETag given, every part but the
    /// last at least ``ObjectStore/minimumPartBytes``. Parts not listed are discarded.
    func completeUpload(bucket: String, key: String, uploadID: String, parts listed: [(number: Int, etag: String)])
        throws(MultipartError) -> String
    {
        let outcome: Result<String, MultipartError> = state.withLock { state in
            guard let upload = state.uploads[uploadID], upload.bucket == bucket, Self.same(upload.key, key) else {
                return .failure(.noSuchUpload)
            }
            guard state.buckets[bucket] != nil else { return .failure(.noSuchBucket) }
            // The order first, then each part, as S3 reports them.
            for (earlier, later) in zip(listed, listed.dropFirst()) where later.number <= earlier.number {
                return .failure(.invalidPartOrder)
            }
            var total = 0
            for (index, entry) in listed.enumerated() {
                guard let part = upload.parts[entry.number], Self.sameETag(part.etag, entry.etag) else {
                    return .failure(.invalidPart(number: entry.number, etag: entry.etag))
                }
                if index < listed.count - 1, part.bytes.count < Self.minimumPartBytes {
                    return .failure(.entityTooSmall(number: entry.number, size: part.bytes.count, etag: part.etag))
                }
                total += part.bytes.count
            }
            let objectCost = StoredObject.cost(key: key, bytes: total, contentType: upload.contentType)
            let replaced =
                state.buckets[bucket]?[Key(key)].map {
                    StoredObject.cost(key: key, bytes: $0.bytes.count, contentType: $0.contentType)
                } ?? 0
            guard state.bytes - upload.cost - replaced + objectCost <= byteCapacity else {
                return .failure(.full(capacity: byteCapacity))
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(total)
            var digests: [UInt8] = []
            digests.reserveCapacity(16 * listed.count)
            for entry in listed {
                guard let part = upload.parts[entry.number] else { continue }  // checked above
                bytes += part.bytes
                digests += part.md5
            }
            let etag = "\"" + Self.hex(Self.md5(digests)) + "-\(listed.count)\""
            state.uploads[uploadID] = nil
            state.bytes -= upload.cost
            state.buckets[bucket]?[Key(key)] = StoredObject(
                bytes: bytes, contentType: upload.contentType, etag: etag, modified: Date())
            state.bytes += objectCost - replaced
            return .success(etag)
        }
        return try outcome.get()
    }

    /// Uploads in progress (all buckets).
    var uploadCount: Int { state.withLock { $0.uploads.count } }

    /// Bytes held against the capacity (objects, buckets and uploads in progress).
    var storedBytes: Int { state.withLock { $0.bytes } }

    /// ETags compared as S3 compares them: quotes optional, hex case-insensitive.
    static func sameETag(_ stored: String, _ given: String) -> Bool {
        func bare(_ text: String) -> String {
            var text = text.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 {
                text = String(text.dropFirst().dropLast())
            }
            return text.lowercased()
        }
        return bare(stored) == bare(given)
    }

    static func md5(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
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
