import BedrockWire
import Foundation
import NIOCore
import QuarryFuzzSupport
import Testing

/// Event-stream codec.
@Suite struct EventStreamCodecTests {
    static let everyType: [EventStreamHeader] = [
        .init(name: "t", value: .bool(true)),
        .init(name: "f", value: .bool(false)),
        .init(name: "byte", value: .byte(-128)),
        .init(name: "short", value: .short(-2)),
        .init(name: "int", value: .int(Int32.min)),
        .init(name: "long", value: .long(Int64.max)),
        .init(name: "bytes", value: .bytes([0, 255, 1])),
        .init(name: "string", value: .string("héllo 👋")),
        .init(name: "timestamp", value: .timestamp(milliseconds: -1)),
        .init(name: "uuid", value: .uuid(UUID(uuidString: "2d3f5c1e-8b7a-4c6d-9e0f-a1b2c3d4e5f6")!)),
    ]

    @Test("a message that repeats a header name is rejected, in both decoding paths, however many headers")
    func duplicateHeaderNamesAreRejected() throws {
        let encoder = EventStreamEncoder()
        // The usual case (a repeated routing header), one past the inline list, and a
        // long run of distinct names that ends in a repeat (the set path).
        let distinct = (0..<40).map { EventStreamHeader(name: "h\($0)", value: .int(Int32($0))) }
        let cases: [(headers: [EventStreamHeader], repeated: String)] = [
            (
                [
                    .init(name: ":event-type", value: .string("chunk")),
                    .init(name: ":message-type", value: .string("event")),
                    .init(name: ":event-type", value: .string("other")),
                ], ":event-type"
            ),
            (Array(distinct.prefix(17)) + [.init(name: "h16", value: .bool(true))], "h16"),
            (distinct + [.init(name: "h3", value: .bool(false))], "h3"),
            (distinct + [.init(name: "h39", value: .bool(false))], "h39"),
        ]
        for (headers, repeated) in cases {
            let bytes = Array(
                try encoder.encode(EventStreamMessage(headers: headers, payloadBytes: Array("{}".utf8)))
                    .readableBytesView)
            for inPlace in [false, true] {
                let outcome = EventStreamDecodeOutcome.decode(bytes, inPlace: inPlace)
                guard case let .rejected(error) = outcome.ending else {
                    Issue.record("\(repeated) (inPlace \(inPlace)): accepted a repeated header")
                    continue
                }
                #expect(error.reason == .duplicateHeader(headerName: repeated))
                #expect(error.description.contains("\"\(repeated)\" appears more than once"))
            }
        }
        // Forty distinct names are fine.
        let fine = Array(try encoder.encode(EventStreamMessage(headers: distinct, payloadBytes: [])).readableBytesView)
        #expect(EventStreamDecodeOutcome.decode(fine).ending == .complete)
    }

    /// A 12-byte prelude with a correct CRC.
    static func prelude(total: UInt32, headers: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in [total, headers] { bytes += withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        bytes += withUnsafeBytes(of: CRC32.checksum(bytes).bigEndian) { Array($0) }
        return bytes
    }

    @Test func everyHeaderTypeRoundTrips() throws {
        let message = EventStreamMessage(headers: Self.everyType, payloadBytes: Array("{}".utf8))
        let bytes = try EventStreamEncoder().encode(message)
        let decoded = try EventStreamDecoder.decodeAll(bytes)
        #expect(decoded == [message])
        #expect(Set(decoded[0].headers.map(\.value.typeID)) == Set(0...9))
        #expect(decoded[0][header: "timestamp"]?.date == Date(timeIntervalSince1970: -0.001))
    }

    @Test func accessorsReadTheRoutingHeaders() throws {
        let event = EventStreamWriter.event("contentBlockDelta", payload: ByteBuffer(string: "{}"))
        #expect(event.eventType == "contentBlockDelta")
        #expect(event.messageType == "event")
        #expect(event.contentType == "application/json")
        #expect(event.exceptionType == nil)
        #expect(event.kind == .event)
        let exception = EventStreamWriter.exception(.throttling, message: "slow down")
        #expect(exception.exceptionType == "throttlingException")
        #expect(exception.kind == .exception)
        #expect(exception.payloadString == #"{"message":"slow down"}"#)
        let error = EventStreamWriter.error(code: "InternalFailure", message: "boom")
        #expect(error.kind == .error && error.errorCode == "InternalFailure" && error.errorMessage == "boom")
        #expect(EventStreamMessage().kind == .event)
        #expect(EventStreamMessage(headers: [.string(":message-type", "odd")]).kind == .other("odd"))
    }

    @Test func oversizedPayloadIsRejectedFromThePreludeAlone() throws {
        var decoder = EventStreamDecoder()
        let payload = 16 * 1024 * 1024 + 1
        decoder.append(contentsOf: Self.prelude(total: UInt32(payload + 16), headers: 0))
        #expect(
            throws: EventStreamDecodingError(.payloadTooLong(length: payload, limit: 16 * 1024 * 1024), streamOffset: 0)
        ) {
            _ = try decoder.nextMessage()
        }
        // Exactly 16 MiB is allowed: the decoder waits for the bytes.
        var atLimit = EventStreamDecoder()
        atLimit.append(contentsOf: Self.prelude(total: UInt32(16 * 1024 * 1024 + 16), headers: 0))
        #expect(try atLimit.nextMessage() == nil)
        #expect(atLimit.bufferedByteCount == 12)
    }

    @Test func oversizedHeadersAreRejectedAndLimitsAreConfigurable() {
        var decoder = EventStreamDecoder()
        decoder.append(contentsOf: Self.prelude(total: 128 * 1024 + 17, headers: 128 * 1024 + 1))
        #expect(
            throws: EventStreamDecodingError(
                .headersTooLong(length: 128 * 1024 + 1, limit: 128 * 1024), streamOffset: 0)
        ) {
            _ = try decoder.nextMessage()
        }
        var small = EventStreamDecoder(limits: EventStreamLimits(maxHeadersLength: 8, maxPayloadLength: 4))
        small.append(contentsOf: Self.prelude(total: 16 + 5, headers: 0))
        #expect(throws: EventStreamDecodingError(.payloadTooLong(length: 5, limit: 4), streamOffset: 0)) {
            _ = try small.nextMessage()
        }
    }

    @Test func headersLongerThanTheMessageAreRejected() {
        var decoder = EventStreamDecoder()
        decoder.append(contentsOf: Self.prelude(total: 20, headers: 5))
        #expect(
            throws: EventStreamDecodingError(
                .headersLengthExceedsMessage(headersLength: 5, totalLength: 20), streamOffset: 0)
        ) {
            _ = try decoder.nextMessage()
        }
    }

    @Test func aFailedDecoderStaysFailedAndErrorsNameTheOffset() throws {
        let good = try EventStreamEncoder().encode(EventStreamMessage(payloadBytes: Array("ok".utf8)))
        var bytes = Array(good.readableBytesView)
        var bad = bytes
        bad[bad.count - 1] ^= 1
        bytes += bad
        var decoder = EventStreamDecoder()
        decoder.append(contentsOf: bytes)
        #expect(try decoder.nextMessage()?.payloadString == "ok")
        var first: EventStreamDecodingError?
        do { _ = try decoder.nextMessage() } catch { first = error }
        let error = try #require(first)
        #expect(error.streamOffset == good.readableBytes)
        guard case .messageChecksumMismatch = error.reason else {
            Issue.record("wrong reason \(error)")
            return
        }
        #expect(error.description.contains("message CRC mismatch"))
        #expect(error.description.contains("at byte \(good.readableBytes)"))
        decoder.append(good)
        #expect(throws: error) { _ = try decoder.nextMessage() }
        #expect(throws: error) { try decoder.finish() }
    }

    @Test func truncationIsReportedAtTheEnd() throws {
        let frame = Array(
            try EventStreamEncoder().encode(EventStreamMessage(payloadBytes: Array("payload".utf8))).readableBytesView)
        for keep in [1, 11, 12, frame.count - 1] {
            var decoder = EventStreamDecoder()
            decoder.append(contentsOf: frame[..<keep])
            #expect(try decoder.nextMessage() == nil)
            #expect(decoder.bufferedByteCount == keep)
            #expect(
                throws: EventStreamDecodingError(
                    .truncated(bufferedBytes: keep, expectedBytes: keep >= 12 ? frame.count : nil),
                    streamOffset: 0)
            ) {
                try decoder.finish()
            }
        }
        var empty = EventStreamDecoder()
        #expect(throws: Never.self) { try empty.finish() }
    }

    @Test func aMessageInsideOneBufferIsNotCopied() throws {
        let payload = [UInt8](repeating: 0x61, count: 4096)
        let message = EventStreamWriter.event("chunk", payload: ByteBuffer(bytes: payload))
        var body = try EventStreamEncoder().encode(message)
        try EventStreamEncoder().encode(message, into: &body)
        var decoder = EventStreamDecoder()
        decoder.append(body)
        let bodyRange = body.withUnsafeReadableBytes {
            UInt(bitPattern: $0.baseAddress!)..<(UInt(bitPattern: $0.baseAddress!) + UInt($0.count))
        }
        for _ in 0..<2 {
            let decoded = try #require(try decoder.nextMessage())
            #expect(decoded.payloadBytes == payload)
            let address = decoded.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
            #expect(bodyRange.contains(address), "payload should be a slice of the appended buffer")
        }
        #expect(try decoder.nextMessage() == nil)
    }

    @Test func encoderRefusesWhatDecodersWouldReject() {
        let encoder = EventStreamEncoder()
        #expect(throws: EventStreamEncodingError.invalidHeaderNameLength(name: "", byteCount: 0)) {
            _ = try encoder.encode(EventStreamMessage(headers: [.string("", "v")]))
        }
        let longName = String(repeating: "n", count: 256)
        #expect(throws: EventStreamEncodingError.invalidHeaderNameLength(name: longName, byteCount: 256)) {
            _ = try encoder.encode(EventStreamMessage(headers: [.string(longName, "v")]))
        }
        let longValue = String(repeating: "x", count: 32768)
        #expect(throws: EventStreamEncodingError.headerValueTooLong(name: "big", byteCount: 32768, limit: 32767)) {
            _ = try encoder.encode(EventStreamMessage(headers: [.string("big", longValue)]))
        }
        let small = EventStreamEncoder(limits: EventStreamLimits(maxHeadersLength: 4, maxPayloadLength: 2))
        #expect(throws: EventStreamEncodingError.payloadTooLong(length: 3, limit: 2)) {
            _ = try small.encode(EventStreamMessage(payloadBytes: [1, 2, 3]))
        }
        #expect(throws: EventStreamEncodingError.headersTooLong(length: 6, limit: 4)) {
            _ = try small.encode(EventStreamMessage(headers: [.init(name: "abcd", value: .bool(true))]))
        }
    }

    @Test func messagesArriveThroughAnAsyncSequenceOfBuffers() async throws {
        let writer = EventStreamWriter()
        var body = ByteBuffer()
        for i in 0..<20 {
            try writer.writeEvent("contentBlockDelta", payload: ByteBuffer(string: #"{"i":\#(i)}"#), into: &body)
        }
        try writer.writeException(.modelStreamError, message: "mid-stream", into: &body)
        let bytes = Array(body.readableBytesView)
        let chunks = stride(from: 0, to: bytes.count, by: 33).map {
            ByteBuffer(bytes: bytes[$0..<min(bytes.count, $0 + 33)])
        }
        var received: [EventStreamMessage] = []
        for try await message in EventStreamMessages(
            AsyncStream { c in
                chunks.forEach { c.yield($0) }; c.finish()
            })
        {
            received.append(message)
        }
        #expect(received.count == 21)
        #expect(received[7].payloadString == #"{"i":7}"#)
        #expect(received.last?.exceptionType == "modelStreamErrorException")

        let cut = Array(chunks.dropLast())
        await #expect(throws: EventStreamDecodingError.self) {
            for try await _ in EventStreamMessages(
                AsyncStream { c in
                    cut.forEach { c.yield($0) }; c.finish()
                })
            {}
        }
    }
}
