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

/// The most recent requests, oldest dropped first.
final class RequestLog: Sendable {
    private let capacity: Int
    private let entries = NIOLockedValueBox<[RecordedRequest]>([])

    init(capacity: Int = 10_000) { self.capacity = capacity }

    func append(_ entry: RecordedRequest) {
        entries.withLockedValue { list in
            if list.count >= capacity { list.removeFirst(list.count - capacity + 1) }
            list.append(entry)
        }
    }

    var all: [RecordedRequest] { entries.withLockedValue { $0 } }

    func clear() { entries.withLockedValue { $0.removeAll() } }
}
