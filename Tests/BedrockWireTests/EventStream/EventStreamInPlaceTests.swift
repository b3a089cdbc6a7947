import BedrockWire
import Foundation
import NIOCore
import Testing

/// Event-stream decoding in place.
@Suite struct EventStreamInPlaceTests {
    static func body(_ messages: [EventStreamMessage]) throws -> [UInt8] {
        let encoder = EventStreamEncoder()
        return try messages.flatMap { Array(try encoder.encode($0).readableBytesView) }
    }

    static let delta = EventStreamMessage(
        headers: [
            .string(":event-type", "contentBlockDelta"),
            .string(":content-type", "application/json"),
            .string(":message-type", "event"),
        ],
        payloadBytes: Array(#"{"contentBlockIndex":0,"delta":{"text":"hi"}}"#.utf8))
    static let exception = EventStreamMessage(
        headers: [
            .string(":exception-type", "throttlingException"),
            .string(":message-type", "exception"),
        ],
        payloadBytes: Array(#"{"message":"slow down"}"#.utf8))

    @Test func viewsRouteLikeMessagesAndKeepTheirBytes() throws {
        var decoder = EventStreamDecoder()
        decoder.append(contentsOf: try Self.body([Self.delta, Self.exception]))
        var seen: [(String?, String?, EventStreamMessageKind, Bool, [UInt8])] = []
        try decoder.decodeAvailable { view in
            seen.append(
                (
                    view.eventType, view.exceptionType, view.kind, view.eventType(is: "contentBlockDelta"),
                    Array(view.payload)
                ))
            #expect(view.makeMessage() == (seen.count == 1 ? Self.delta : Self.exception))
        }
        try decoder.finish()
        try #require(seen.count == 2)
        #expect(seen[0].0 == "contentBlockDelta" && seen[0].1 == nil && seen[0].2 == .event && seen[0].3)
        #expect(seen[0].4 == Self.delta.payloadBytes)
        #expect(seen[1].0 == nil && seen[1].1 == "throttlingException" && seen[1].2 == .exception && !seen[1].3)
    }

    @Test func anErrorFromTheBodyStopsAfterThatMessage() throws {
        struct Stop: Error {}
        var decoder = EventStreamDecoder()
        decoder.append(contentsOf: try Self.body([Self.delta, Self.exception, Self.delta]))
        var count = 0
        #expect(throws: Stop.self) {
            try decoder.decodeAvailable { _ in
                count += 1
                if count == 2 { throw Stop() }
            }
        }
        // The third message is still there, and the decoder still works.
        let rest = try #require(try decoder.nextMessage())
        #expect(rest == Self.delta)
        #expect(try decoder.nextMessage() == nil)
        try decoder.finish()
    }

    @Test func aCorruptMessageFailsTheDecoderAtItsOffset() throws {
        var bytes = try Self.body([Self.delta, Self.delta])
        let first = bytes.count / 2
        bytes[first + 20] ^= 0x40  // inside the second message's headers: its message CRC fails
        var decoder = EventStreamDecoder()
        decoder.append(contentsOf: bytes)
        var count = 0
        do {
            try decoder.decodeAvailable { _ in count += 1 }
            Issue.record("the corrupt message was accepted")
        } catch let error as EventStreamDecodingError {
            #expect(count == 1)
            #expect(error.streamOffset == first)
            guard case .messageChecksumMismatch = error.reason else {
                Issue.record("expected a message CRC mismatch, got \(error)")
                return
            }
        }
        // The decoder stays failed, as with nextMessage().
        #expect(throws: EventStreamDecodingError.self) { try decoder.nextMessage() }
    }

    @Test func decodedMessagesBuildTheirHeadersOnlyWhenAsked() throws {
        let decoded = try EventStreamDecoder.decodeAll(ByteBuffer(bytes: try Self.body([Self.delta])))
        try #require(decoded.count == 1)
        var message = decoded[0]
        #expect(message.headers == Self.delta.headers)
        #expect(message == Self.delta && message.hashValue == Self.delta.hashValue)
        message.headers = [.string(":event-type", "messageStop")]
        #expect(message.eventType == "messageStop" && message.messageType == nil && message.kind == .event)
    }
}
