import Crypto
import Foundation
import Synchronization

/// One request the emulator saw, for `emulator.requests()` and the admin API.
public struct RecordedRequest: Sendable, Codable, Equatable {
    /// The `x-amzn-RequestId` it was answered with.
    public var requestID: String
    /// When it arrived.
    public var time: Date
    /// The operation (`nil` when the path matched none).
    public var operation: String?
    /// The model id as sent (at most ``RequestLog/maxFieldBytes`` bytes; longer ids end in `…`).
    public var model: String?
    /// The region it was signed for.
    public var region: String?
    /// The masked access key id (`AKIA…WXYZ`), or `bearer`.
    public var principal: String?
    /// The HTTP status answered (0 for stall or reset).
    public var status: Int
    /// The error name, when it failed.
    public var error: String?
    /// The fault rule effect applied, if any (`error`, `latency`, `stall`, `reset`, `stream`).
    public var fault: String?
    /// Input tokens counted.
    public var inputTokens: Int?
    /// Output tokens generated.
    public var outputTokens: Int?
    /// The inline media of a Converse request (image, document, video, audio bytes), as
    /// kind, size and SHA-256: a test can check the bytes arrived unchanged without the
    /// log holding them.
    public var media: [RecordedMedia]?

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", time, operation, model, region, principal, status, error, fault
        case inputTokens = "input_tokens", outputTokens = "output_tokens", media
    }

    /// A rough size in memory, for the log's byte bound.
    var approximateBytes: Int {
        128 + requestID.utf8.count + (operation?.utf8.count ?? 0) + (model?.utf8.count ?? 0) + (region?.utf8.count ?? 0)
            + (principal?.utf8.count ?? 0) + (error?.utf8.count ?? 0) + (fault?.utf8.count ?? 0)
            + (media?.count ?? 0) * 96
    }
}

/// One inline media block a request carried: its kind, decoded size and digest.
public struct RecordedMedia: Sendable, Codable, Equatable {
    /// `image`, `document`, `video` or `audio`.
    public var kind: String
    /// The size of the decoded bytes.
    public var bytes: Int
    /// The SHA-256 of the decoded bytes, lowercase hex.
    public var sha256: String

    /// The most media blocks recorded for one request.
    static let maxPerRequest = 20

    /// The inline media of a Converse body (`messages[].content[]`), at most `maxPerRequest`.
    static func of(converseBody body: JSONValue) -> [RecordedMedia]? {
        var found: [RecordedMedia] = []
        for message in body["messages"]?.arrayValue ?? [] {
            for block in message["content"]?.arrayValue ?? [] {
                guard found.count < maxPerRequest, let members = block.objectValue, members.count == 1,
                    let (kind, value) = members.first, ["image", "document", "video", "audio"].contains(kind),
                    let text = value["source"]?["bytes"]?.stringValue, let data = Data(base64Encoded: text)
                else { continue }
                let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
                found.append(RecordedMedia(kind: kind, bytes: data.count, sha256: digest))
            }
        }
        return found.isEmpty ? nil : found
    }
}

/// The most recent authenticated requests, oldest dropped first. Bounded twice: by
/// count and by (approximate) bytes, and every text field is cut to
/// ``maxFieldBytes`` — so no client can make it grow without limit. Only requests
/// that passed authentication are recorded (the service decides that).
final class RequestLog: Sendable {
    /// The longest text field kept (bytes of UTF-8); longer values are cut and end in `…`.
    static let maxFieldBytes = 256

    private struct Store {
        var items: [RecordedRequest] = []
        var start = 0
        var bytes = 0
        var count: Int { items.count - start }
    }

    /// The most entries kept.
    let capacity: Int
    /// The most bytes (approximate) kept.
    let byteCapacity: Int
    private let store = Mutex(Store())

    init(capacity: Int = 10_000, byteCapacity: Int = 8 * 1024 * 1024) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1024, byteCapacity)
    }

    func append(_ entry: RecordedRequest) {
        var entry = entry
        entry.requestID = Self.cut(entry.requestID)
        entry.operation = entry.operation.map(Self.cut)
        entry.model = entry.model.map(Self.cut)
        entry.region = entry.region.map(Self.cut)
        entry.principal = entry.principal.map(Self.cut)
        entry.error = entry.error.map(Self.cut)
        entry.fault = entry.fault.map(Self.cut)
        let size = entry.approximateBytes
        store.withLock { store in
            store.items.append(entry)
            store.bytes += size
            while store.count > capacity || (store.bytes > byteCapacity && store.count > 1) {
                store.bytes -= store.items[store.start].approximateBytes
                store.start += 1
            }
            // Compact once the dropped prefix is as long as what is kept (amortised O(1)).
            if store.start > 64 && store.start >= store.count {
                store.items.removeFirst(store.start)
                store.start = 0
            }
        }
    }

    /// Oldest first.
    var all: [RecordedRequest] {
        store.withLock { Array($0.items[$0.start...]) }
    }

    /// How many entries and (approximate) bytes are kept.
    var usage: (count: Int, bytes: Int) { store.withLock { ($0.count, $0.bytes) } }

    func clear() { store.withLock { $0 = Store() } }

    /// `text` cut to at most ``maxFieldBytes`` bytes on a character boundary.
    static func cut(_ text: String) -> String {
        guard text.utf8.count > maxFieldBytes else { return text }
        var kept = ""
        var bytes = 0
        let limit = maxFieldBytes - "…".utf8.count
        for character in text {
            let size = character.utf8.count
            if bytes + size > limit { break }
            kept.append(character)
            bytes += size
        }
        return kept + "…"
    }
}
