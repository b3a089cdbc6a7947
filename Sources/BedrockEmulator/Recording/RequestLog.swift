import Foundation
import NIOConcurrencyHelpers

/// One request the emulator saw, for `emulator.requests()` and the admin API.
public struct RecordedRequest: Sendable, Codable, Equatable {
    /// The `x-amzn-RequestId` it was answered with.
    public var requestID: String
    /// When it arrived.
    public var time: Date
    /// The operation (`nil` when the path matched none).
    public var operation: String?
    /// The model id as sent.
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

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", time, operation, model, region, principal, status, error, fault
        case inputTokens = "input_tokens", outputTokens = "output_tokens"
    }
}

/// The most recent requests, oldest dropped first (a ring, so recording stays O(1)
/// under load).
final class RequestLog: Sendable {
    private struct Ring {
        var items: [RecordedRequest] = []
        var next = 0
    }

    private let capacity: Int
    private let ring = NIOLockedValueBox(Ring())

    init(capacity: Int = 10_000) { self.capacity = max(1, capacity) }

    func append(_ entry: RecordedRequest) {
        ring.withLockedValue { ring in
            if ring.items.count < capacity {
                ring.items.append(entry)
            } else {
                ring.items[ring.next] = entry
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// Oldest first.
    var all: [RecordedRequest] {
        ring.withLockedValue { ring in Array(ring.items[ring.next...] + ring.items[..<ring.next]) }
    }

    func clear() { ring.withLockedValue { $0 = Ring() } }
}
