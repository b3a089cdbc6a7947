import NIOCore

/// A request body produced while the request is in flight: byte buffers sent as they
/// come, for bidirectional event streams. Iterated once, by the transport.
public struct StreamingRequestBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let make: @Sendable () -> AsyncIterator

    /// Wraps any sequence of byte buffers.
    public init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == ByteBuffer {
        make = {
            let box = IteratorBox(sequence.makeAsyncIterator())
            return AsyncIterator { try await box.next() }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { make() }

    /// Produces the next buffer; nil at the end of the body.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await nextChunk() }
    }

    private final class IteratorBox<I: AsyncIteratorProtocol> where I.Element == ByteBuffer {
        var iterator: I
        init(_ i: I) { iterator = i }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }
}
