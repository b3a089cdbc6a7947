import BedrockWire
import NIOCore
import QuarryFuzzSupport
import Testing

/// The event-stream conformance vectors (botocore-generated): every valid message
/// decodes to its recorded headers and payload and re-encodes to the same bytes; every
/// invalid one is rejected where the spec rejects it.
@Suite struct EventStreamVectorTests {
    /// Where we deliberately differ from botocore, and why. A difference not listed here
    /// fails the test.
    static let deliberateDifferences: [String: String] = [
        "total-length-12":
            "botocore yields a bogus 12-byte message (its CRC read from the prelude CRC) and waits; "
            + "a total length below 16 cannot hold the message CRC, so we reject it as the spec says",
        "string-value-overruns-headers":
            "botocore's slicing silently shortens the string to the bytes left; we reject a value "
            + "that runs past the headers section, as the spec says",
    ]

    @Test("valid messages decode to the recorded headers and payload and re-encode exactly")
    func validMessagesRoundTrip() throws {
        let (file, url) = try EventStreamVectorFile.load()
        try #require(!file.valid.isEmpty, "no valid[] cases in \(url.path)")
        for vector in file.valid {
            let bytes = try vector.messageBytes()
            #expect(bytes.count == vector.length, "\(vector.id): recipe gives \(bytes.count) bytes")
            let expectedHeaders = try vector.expectedHeaders()
            let expectedPayload = try vector.payload.bytes()

            let messages = try EventStreamDecoder.decodeAll(ByteBuffer(bytes: bytes))
            try #require(messages.count == 1, "\(vector.id): decoded \(messages.count) messages")
            #expect(messages[0].headers == expectedHeaders, "\(vector.id): headers")
            #expect(messages[0].payloadBytes == expectedPayload, "\(vector.id): payload")

            // The same bytes fed in small pieces give the same message.
            let step = bytes.count > 4096 ? 977 : 1
            let cuts = Array(stride(from: step, to: bytes.count, by: step))
            let pieced = EventStreamDecodeOutcome.decode(bytes, cuts: cuts)
            #expect(pieced.ending == .complete && pieced.messages == messages, "\(vector.id): split by \(step)")
            // Decoding in place (views of the received bytes) gives the same message,
            // whole or in pieces.
            for inPlaceCuts in [[], cuts] {
                let inPlace = EventStreamDecodeOutcome.decode(bytes, cuts: inPlaceCuts, inPlace: true)
                #expect(
                    inPlace.ending == .complete && inPlace.messages == messages,
                    "\(vector.id): in place, \(inPlaceCuts.count) cuts")
            }

            // Encoding the expected message gives the exact bytes.
            let message = EventStreamMessage(headers: expectedHeaders, payloadBytes: expectedPayload)
            let encoded = try EventStreamEncoder().encode(message)
            #expect(Array(encoded.readableBytesView) == bytes, "\(vector.id): re-encoded bytes differ")
        }
        print("event-stream vectors: \(file.valid.count) valid cases checked (\(url.path))")
    }

    @Test("the valid messages concatenated decode identically in any split")
    func concatenatedStreamDecodesInAnySplit() throws {
        let (file, _) = try EventStreamVectorFile.load()
        let inline = file.valid.filter { $0.bytes_hex != nil }
        try #require(!inline.isEmpty)
        let stream = try inline.flatMap { try $0.messageBytes() }
        let expected = try inline.map {
            EventStreamMessage(headers: try $0.expectedHeaders(), payloadBytes: try $0.payload.bytes())
        }
        for step in [1, 7, 977, stream.count] {
            let cuts = Array(stride(from: step, to: stream.count, by: step))
            let outcome = EventStreamDecodeOutcome.decode(stream, cuts: cuts)
            #expect(outcome.ending == .complete, "split by \(step): \(outcome.ending)")
            #expect(outcome.messages == expected, "split by \(step)")
            #expect(
                EventStreamDecodeOutcome.decode(stream, cuts: cuts, inPlace: true) == outcome,
                "in place, split by \(step)")
        }
        var mutator = EventStreamMutator(seed: 977)
        for _ in 0..<50 {
            let cuts = mutator.cuts(for: stream.count, maxCount: 40).sorted()
            let outcome = EventStreamDecodeOutcome.decode(stream, cuts: cuts)
            #expect(outcome.ending == .complete && outcome.messages == expected, "cuts \(cuts)")
        }
        print("event-stream vectors: \(inline.count) messages decoded as one stream in 54 splits")
    }

    @Test("invalid byte strings are rejected where the spec rejects them")
    func invalidInputsAreRejected() throws {
        let (file, url) = try EventStreamVectorFile.load()
        try #require(!file.invalid.isEmpty, "no invalid[] cases in \(url.path)")
        for vector in file.invalid {
            let bytes = try TestBytes.hex(vector.bytes_hex)
            let outcome = EventStreamDecodeOutcome.decode(bytes)
            #expect(EventStreamDecodeOutcome.decode(bytes, inPlace: true) == outcome, "\(vector.id): in place")
            let ours: String
            switch outcome.ending {
            case .complete: ours = "ok"
            case .rejected(let error):
                ours = "error"
                #expect(error.description.hasPrefix("event-stream message at byte "), "\(vector.id): \(error)")
                if let expectedReason = Self.reasonNamed(by: vector.spec_note) {
                    #expect(expectedReason(error.reason), "\(vector.id): \(vector.spec_note) but got \(error)")
                }
            case .truncated(let error):
                ours = "incomplete"
                guard case .truncated = error.reason else {
                    Issue.record("\(vector.id): truncation reported as \(error)")
                    continue
                }
            }

            let note = vector.spec_note.lowercased()
            if note.hasPrefix("reject") {
                #expect(ours == "error", "\(vector.id): spec rejects (\(vector.spec_note)) but we gave \(ours)")
                if vector.botocore.outcome == "error", let before = vector.botocore.messages_before_error {
                    #expect(outcome.messages.count == before, "\(vector.id): messages before the error")
                }
            } else if note.hasPrefix("incomplete") || note.contains("then incomplete") {
                #expect(ours == "incomplete", "\(vector.id): spec says incomplete but we gave \(ours)")
                #expect(outcome.messages.count == (vector.botocore.messages_decoded ?? 0), "\(vector.id): messages")
            } else {
                // Implementation-defined: we do what botocore does (e.g. accept an empty
                // header name, which the spec's 1-255 range excludes but decoders accept).
                #expect(
                    ours == vector.botocore.outcome,
                    "\(vector.id): implementation-defined, botocore gave \(vector.botocore.outcome)")
            }
            if ours != vector.botocore.outcome {
                #expect(
                    Self.deliberateDifferences[vector.id] != nil,
                    "\(vector.id): we gave \(ours), botocore \(vector.botocore.outcome), and no reason is recorded")
            }
        }
        print("event-stream vectors: \(file.invalid.count) invalid cases checked (\(url.path))")
    }

    /// The error reason a spec note names, when it names one.
    static func reasonNamed(by note: String) -> ((EventStreamDecodingError.Reason) -> Bool)? {
        let n = note.lowercased()
        if n.contains("prelude crc") { return { if case .preludeChecksumMismatch = $0 { true } else { false } } }
        if n.contains("message crc") { return { if case .messageChecksumMismatch = $0 { true } else { false } } }
        if n.contains("total_length <") { return { if case .messageTooShort = $0 { true } else { false } } }
        if n.contains("unknown header value type") {
            return { if case .unknownHeaderType = $0 { true } else { false } }
        }
        if n.contains("payload too large") { return { if case .payloadTooLong = $0 { true } else { false } } }
        if n.contains("headers section larger") { return { if case .headersTooLong = $0 { true } else { false } } }
        if n.contains("header value exceeds") { return { if case .headerValueOverrun = $0 { true } else { false } } }
        if n.contains("header name exceeds") { return { if case .headerNameOverrun = $0 { true } else { false } } }
        if n.contains("utf-8") {
            return {
                switch $0 {
                case .invalidStringUTF8, .invalidHeaderNameUTF8: true
                default: false
                }
            }
        }
        return nil
    }
}
