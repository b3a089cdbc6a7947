import Foundation
import Synchronization

/// Caps on what the client keeps from the network, so a broken or hostile server
/// cannot make it allocate without bound. Passing one is a `ResponseTooLarge` error
/// naming the cap, never an out-of-memory kill.
///
/// The defaults leave ample room for the service's real answers: the largest
/// non-streaming answers (InvokeModel of an image model returning several base64
/// images) are a few MiB; a ConverseStream's text and tool input are bounded by the
/// model's output tokens (at most a few hundred thousand, well under 8 MiB of text).
public struct ResponseLimits: Sendable, Hashable {
    /// Bytes of a non-streaming response body (default 32 MiB).
    public var maxBodyBytes: Int
    /// Bytes a stream's result may hold: the text, tool input and reasoning a
    /// ConverseStream accumulates (tool names and ids, unknown blocks' values and 256
    /// bytes per content block included), and for every stream the event bytes of one
    /// attempt not yet read by the consumer (default 64 MiB).
    public var maxStreamBytes: Int
    /// Bytes of an error response body kept for its message (default 1 MiB; the rest is
    /// discarded, not an error).
    public var maxErrorBodyBytes: Int
    /// Bytes all calls of one client may hold at once: the bodies being read and the
    /// streams' results and unread events (default 256 MiB). Each cap above bounds one
    /// call; this bounds many calls in flight together. A call whose bytes would pass
    /// it fails with `ResponseTooLarge`; the others go on.
    public var maxInFlightBytes: Int
    /// Content blocks a ConverseStream result may have (default 10,000; each costs an
    /// entry and strings even when its text is one byte).
    public var maxContentBlocks: Int
    /// JSON values one answer (or one stream event, or one tool use's input) may hold to
    /// be parsed. A parsed value costs tens to hundreds of bytes, so a hostile answer of
    /// tiny values (`[[],[],…]`) would cost far more memory parsed than its bytes.
    public var maxJSONValues: Int = ResponseLimits.defaultMaxJSONValues

    /// One million: a 150 MB parsed tree at most.
    public static let defaultMaxJSONValues = 1_000_000

    /// 32 MiB body, 64 MiB stream, 1 MiB error body, 256 MiB in flight, 10,000 blocks,
    /// 1,000,000 JSON values.
    public static let `default` = ResponseLimits()

    public init(
        maxBodyBytes: Int = 32 << 20, maxStreamBytes: Int = 64 << 20, maxErrorBodyBytes: Int = 1 << 20,
        maxInFlightBytes: Int = 256 << 20, maxContentBlocks: Int = 10_000
    ) {
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.maxStreamBytes = max(0, maxStreamBytes)
        self.maxErrorBodyBytes = max(0, maxErrorBodyBytes)
        self.maxInFlightBytes = max(0, maxInFlightBytes)
        self.maxContentBlocks = max(0, maxContentBlocks)
    }

    /// `32 MiB`, `64 KiB` or `100 bytes`.
    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

/// The bytes all calls of one client hold at once, against
/// `ResponseLimits.maxInFlightBytes`. Calls take a `Reservation` and grow it as bytes
/// arrive; it gives its bytes back when the call's data is dropped.
final class ResponseBudget: @unchecked Sendable {
    let limit: Int
    private let lock = Mutex(())
    private var used = 0

    init(limit: Int) { self.limit = limit }

    /// Bytes held by all reservations now.
    var inUse: Int { lock.withLock { _ in used } }

    /// A new, empty reservation.
    func reservation() -> Reservation { Reservation(budget: self) }

    /// Changes a reservation's bytes from `old` to `new`; false (nothing changed) when
    /// growing would pass the limit.
    fileprivate func move(from old: Int, to new: Int) -> Bool {
        lock.withLock { _ in
            let grow = new - old
            if grow > 0, grow > limit - used { return false }
            used += grow
            return true
        }
    }

    /// One call's share of the budget; released in full when dropped.
    final class Reservation: @unchecked Sendable {
        let budget: ResponseBudget
        private let lock = Mutex(())
        private var held = 0

        fileprivate init(budget: ResponseBudget) { self.budget = budget }

        /// Holds `bytes` in all (more or fewer than now); false when the budget has no room.
        func resize(to bytes: Int) -> Bool {
            lock.withLock { _ in
                guard budget.move(from: held, to: max(0, bytes)) else { return false }
                held = max(0, bytes)
                return true
            }
        }

        /// Holds `bytes` more; false when the budget has no room.
        func grow(by bytes: Int) -> Bool {
            lock.withLock { _ in
                guard bytes <= Int.max - held, budget.move(from: held, to: held + bytes) else { return false }
                held += bytes
                return true
            }
        }

        /// The error for a call whose bytes did not fit.
        var tooLarge: BedrockError {
            BedrockError.responseTooLarge(
                "the responses of the client's calls in flight", limit: budget.limit,
                setting: "maxInFlightBytes")
        }

        deinit { _ = budget.move(from: held, to: 0) }
    }
}
