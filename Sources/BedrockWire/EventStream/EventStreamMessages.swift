import NIOCore

/// The messages of an event stream whose bytes arrive as an async sequence of buffers
/// (such as AsyncHTTPClient's response body).
///
/// Ends normally only at a message boundary; a body that stops inside a message throws
/// `EventStreamDecodingError` with reason `truncated`. Errors of the base sequence pass
/// through unchanged.
public struct EventStreamMessages<Base: AsyncSequence>: AsyncSequence where Base.Element == ByteBuffer {
    /// Each element is one decoded message.
    public typealias Element = EventStreamMessage

    private let base: Base
    private let limits: EventStreamLimits

    /// Messages decoded from `base` with the given limits.
    public init(_ base: Base, limits: EventStreamLimits = .standard) {
        self.base = base
        self.limits = limits
    }

    /// Starts reading the base sequence.
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), decoder: EventStreamDecoder(limits: limits))
    }

    /// Pulls buffers from the base sequence until a message is complete.
    public struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var decoder: EventStreamDecoder
        var finished = false

        /// The next message, nil at the clean end of the stream.
        public mutating func next() async throws -> EventStreamMessage? {
            while !finished {
                if let message = try decoder.nextMessage() { return message }
                guard let chunk = try await base.next() else {
                    finished = true
                    try decoder.finish()
                    return nil
                }
                decoder.append(chunk)
            }
            return nil
        }
    }
}

extension EventStreamMessages: Sendable where Base: Sendable {}
