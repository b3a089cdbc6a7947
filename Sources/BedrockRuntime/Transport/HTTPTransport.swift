import NIOCore
import NIOHTTP1

/// A response as the transport returns it: the head, and the body still to be read.
public struct IncomingResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ResponseBody

    public init(status: Int, headers: HTTPHeaders, body: ResponseBody) {
        self.status = status; self.headers = headers; self.body = body
    }
}

/// A response body: an async sequence of byte chunks, read once.
public struct ResponseBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let make: @Sendable () -> AsyncIterator

    /// Wraps any sequence of byte buffers (AsyncHTTPClient's body, or a middleware's own).
    public init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == ByteBuffer {
        make = {
            let box = IteratorBox(sequence.makeAsyncIterator())
            return AsyncIterator { try await box.next() }
        }
    }

    /// A body made of one buffer.
    public init(bytes: ByteBuffer) {
        self.init(ChunkSequence(chunks: bytes.readableBytes > 0 ? [bytes] : []))
    }

    /// A body made of the given chunks, in order.
    public init(chunks: [ByteBuffer]) {
        self.init(ChunkSequence(chunks: chunks))
    }

    public func makeAsyncIterator() -> AsyncIterator { make() }

    /// Reads the next chunk; nil at the end.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await nextChunk() }
    }

    private final class IteratorBox<I: AsyncIteratorProtocol> where I.Element == ByteBuffer {
        var iterator: I
        init(_ i: I) { iterator = i }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }

    private struct ChunkSequence: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let chunks: [ByteBuffer]
        struct AsyncIterator: AsyncIteratorProtocol {
            var rest: ArraySlice<ByteBuffer>
            mutating func next() async throws -> ByteBuffer? { rest.popFirst() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks[...]) }
    }
}

/// Carries one attempt to the service and returns the response head.
///
/// The client's default is `AsyncHTTPClientTransport`. Anything that conforms can
/// replace it, and `TransportMiddleware`s wrap it (fault injection, recording).
public protocol HTTPTransport: Sendable {
    /// Sends `request`; returns once the response head has arrived.
    func send(_ request: OutgoingRequest) async throws -> IncomingResponse
}

/// A layer around the transport, called for every attempt after signing.
///
/// This is the seam for client-side fault injection: a middleware may delay, fail,
/// rewrite or answer a request itself (e.g. return a 429 without sending, cut a body
/// short, stall a stream), or pass it on with `next.send(request)`. Middlewares run
/// in the order given in the configuration, the first one outermost. Errors thrown
/// here are classified like the transport's own (throw a `BedrockError` of kind
/// `.transport(...)` to simulate a network failure).
public protocol TransportMiddleware: Sendable {
    /// Handles one attempt.
    func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse
}

/// A middleware that only awaits, never blocks its thread nor computes at length (the
/// fault injector): a caller may run calls through it on an executor of its own, such as
/// a script's thread, where a blocking app middleware would hold the script.
public protocol NonBlockingTransportMiddleware: TransportMiddleware {}

/// A transport with a middleware in front of it.
struct MiddlewareTransport: HTTPTransport {
    let middleware: any TransportMiddleware
    let next: any HTTPTransport
    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        try await middleware.send(request, next: next)
    }

    /// `base` wrapped in `middlewares`, the first one outermost.
    static func chain(_ middlewares: [any TransportMiddleware], around base: any HTTPTransport) -> any HTTPTransport {
        middlewares.reversed().reduce(base) { MiddlewareTransport(middleware: $1, next: $0) }
    }
}
