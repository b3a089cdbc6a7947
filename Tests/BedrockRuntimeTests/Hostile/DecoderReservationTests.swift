import BedrockWire
import Foundation
import NIOCore
import Testing

@testable import BedrockRuntime

/// Event-stream decoder: reservations grow with the bytes received.
@Suite struct DecoderReservationTests {
    @Test("a prelude declaring 16 MiB reserves nothing like 16 MiB before the bytes arrive")
    func noUpFrontReservation() throws {
        var decoder = EventStreamDecoder()
        decoder.append(ByteBuffer(bytes: hostilePrelude(total: 16 * 1024 * 1024) + Array(repeating: 0x20, count: 100)))
        #expect(try decoder.nextMessage() == nil)
        decoder.append(ByteBuffer(bytes: Array(repeating: 0x20, count: 100)))  // the first bytes move to the carry
        #expect(try decoder.nextMessage() == nil)
        #expect(decoder.bufferedByteCount == 212)
        #expect(decoder.carryCapacity < 64 * 1024)
    }

    @Test("a message split across many buffers still decodes, its storage growing as it comes")
    func growingCarryDecodes() throws {
        let message = EventStreamWriter.event(
            "chunk", payload: ByteBuffer(bytes: Array(repeating: 0x61, count: 300_000)))
        let bytes = Array(try EventStreamWriter().frame(message).readableBytesView)
        var decoder = EventStreamDecoder()
        var decoded: [EventStreamMessage] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 7_000, bytes.count)
            decoder.append(ByteBuffer(bytes: bytes[offset..<end]))
            while let m = try decoder.nextMessage() { decoded.append(m) }
            #expect(decoder.carryCapacity <= 2 * max(end, 4096))
            offset = end
        }
        try decoder.finish()
        #expect(decoded.count == 1)
        #expect(decoded.first?.payload.readableBytes == 300_000)
    }
}
