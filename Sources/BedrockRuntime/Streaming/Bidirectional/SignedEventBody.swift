import BedrockWire
import Foundation
import NIOCore

/// The request body of a bidirectional stream: each input payload becomes a `chunk`
/// event (`{"bytes": base64}`), wrapped in an outer message carrying `:date` and the
/// chained `:chunk-signature`; after the input ends, a signed empty message closes
/// the stream. Without a signer (bearer token) the `chunk` events go unwrapped.
struct SignedEventBody<Input: AsyncSequence & Sendable>: AsyncSequence, Sendable where Input.Element == Data {
    typealias Element = ByteBuffer

    let input: Input
    let signer: SigV4EventSigner?
    let now: @Sendable () -> Date
    /// Called after each frame is produced (progress for the idle watchdog).
    let onFrame: @Sendable () -> Void

    func makeAsyncIterator() -> Iterator {
        Iterator(input: input.makeAsyncIterator(), signer: signer, now: now, onFrame: onFrame)
    }

    struct Iterator: AsyncIteratorProtocol {
        var input: Input.AsyncIterator
        var signer: SigV4EventSigner?
        let now: @Sendable () -> Date
        let onFrame: @Sendable () -> Void
        var closed = false

        mutating func next() async throws -> ByteBuffer? {
            guard !closed else { return nil }
            let payload: Data?
            do {
                payload = try await input.next()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw BedrockError.invalidRequest("the bidirectional stream's input failed: \(error)")
            }
            guard let payload else {
                closed = true
                guard signer != nil else { return nil }
                defer { onFrame() }
                return try frame(inner: ByteBuffer())
            }
            defer { onFrame() }
            let inner = try BidirectionalFrames.chunkEvent(payload)
            return signer == nil ? inner : try frame(inner: inner)
        }

        /// The outer signed message around `inner` (empty for the closing message).
        private mutating func frame(inner: ByteBuffer) throws -> ByteBuffer {
            guard var signer else { return inner }
            let signature = signer.sign(payload: Array(inner.readableBytesView), at: now())
            self.signer = signer
            return try BidirectionalFrames.encode(
                EventStreamMessage(
                    headers: [
                        EventStreamHeader(
                            name: EventStreamHeaderName.date,
                            value: .timestamp(milliseconds: signature.dateMilliseconds)),
                        EventStreamHeader(
                            name: EventStreamHeaderName.chunkSignature, value: .bytes(signature.signature)),
                    ], payload: inner))
        }
    }
}

/// The frames of a bidirectional stream's input.
enum BidirectionalFrames {
    /// The `chunk` input event for `bytes`: `{"bytes": "<base64>"}`.
    static func chunkEvent(_ bytes: Data) throws -> ByteBuffer {
        var json = "{\"bytes\":\""
        json += bytes.base64EncodedString()
        json += "\"}"
        return try encode(EventStreamWriter.event("chunk", payload: ByteBuffer(string: json)))
    }

    static func encode(_ message: EventStreamMessage) throws -> ByteBuffer {
        do {
            return try EventStreamEncoder().encode(message)
        } catch {
            throw BedrockError.invalidRequest("a bidirectional stream input chunk cannot be framed: \(error)")
        }
    }
}
