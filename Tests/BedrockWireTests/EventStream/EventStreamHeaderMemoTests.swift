import BedrockWire
import NIOCore
import QuarryFuzzSupport
import Testing

/// The decoder remembers the last headers section that passed its checks and compares
/// the next section with it instead of walking it again. These tests hold it to the
/// same results as a decoder that walks every section: a section that differs from the
/// remembered one by a single byte is checked in full, and fails exactly as it would
/// alone.
@Suite struct EventStreamHeaderMemoTests {
    /// One header on the wire: name length, name, type, value (with its length for
    /// strings and byte arrays).
    static func header(_ name: String, type: UInt8 = 7, _ value: [UInt8]) -> [UInt8] {
        let n = Array(name.utf8)
        var bytes = [UInt8(n.count)] + n + [type]
        if type == 6 || type == 7 { bytes += [UInt8(value.count >> 8), UInt8(value.count & 0xFF)] }
        return bytes + value
    }

    static func header(_ name: String, _ value: String) -> [UInt8] { header(name, Array(value.utf8)) }

    static func be32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// A whole message with correct CRCs around any headers section (valid or not).
    static func frame(_ section: [UInt8], _ payload: [UInt8]) -> [UInt8] {
        var bytes = be32(16 + section.count + payload.count) + be32(section.count)
        bytes += be32(Int(CRC32.checksum(bytes)))
        bytes += section + payload
        return bytes + be32(Int(CRC32.checksum(bytes)))
    }

    /// The headers section of every text delta of a ConverseStream.
    static let deltaSection =
        header(":event-type", "contentBlockDelta") + header(":content-type", "application/json")
        + header(":message-type", "event")
    static let payload = Array(#"{"contentBlockIndex":0,"delta":{"text":"hi"}}"#.utf8)

    /// What a decode run saw: per message its routing (as the view or message reports
    /// it), headers and payload; then how it ended.
    struct Seen: Equatable {
        var messages: [[String]] = []
        var error: EventStreamDecodingError?
    }

    static func describe(
        _ types: (String?, String?, String?, String?), kind: EventStreamMessageKind, isDelta: Bool,
        _ message: EventStreamMessage
    ) -> [String] {
        [
            types.0 ?? "-", types.1 ?? "-", types.2 ?? "-", types.3 ?? "-", "\(kind)", "\(isDelta)",
            "\(message.headers)", "\(message.payloadBytes)",
        ]
    }

    /// Decodes `bytes` appended in pieces ending at `cuts`, in place or as owned
    /// messages, with or without the memo.
    static func decode(_ bytes: [UInt8], cuts: [Int] = [], remembering: Bool, inPlace: Bool) -> Seen {
        var decoder = EventStreamDecoder(limits: .standard, remembersHeaderSection: remembering)
        var seen = Seen()
        var start = 0
        do {
            for end in cuts.sorted() + [bytes.count] where end > start && end <= bytes.count {
                decoder.append(contentsOf: bytes[start..<end])
                start = end
                if inPlace {
                    try decoder.decodeAvailable { view in
                        seen.messages.append(
                            describe(
                                (view.messageType, view.eventType, view.exceptionType, view.contentType),
                                kind: view.kind, isDelta: view.eventType(is: "contentBlockDelta"), view.makeMessage()))
                    }
                } else {
                    while let m = try decoder.nextMessage() {
                        seen.messages.append(
                            describe(
                                (m.messageType, m.eventType, m.exceptionType, m.contentType), kind: m.kind,
                                isDelta: m.eventType == "contentBlockDelta", m))
                    }
                }
            }
            try decoder.finish()
        } catch let error as EventStreamDecodingError {
            seen.error = error
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return seen
    }

    /// Decodes `bytes` the four ways (memo or not, in place or not) with the same cuts,
    /// checks they agree, and returns what they saw.
    static func decodeAllWays(_ bytes: [UInt8], cuts: [Int] = []) -> Seen {
        let reference = decode(bytes, cuts: cuts, remembering: false, inPlace: false)
        for (remembering, inPlace) in [(true, true), (true, false), (false, true)] {
            let other = decode(bytes, cuts: cuts, remembering: remembering, inPlace: inPlace)
            #expect(
                other == reference,
                "memo \(remembering), in place \(inPlace), cuts \(cuts): \(other) vs \(reference)")
        }
        return reference
    }

    /// Small changes to the delta section (bytes written at offsets), each as the second
    /// message after a valid first (so the memo holds a section of the same length).
    static let oneByteChanges: [(what: String, patch: [(at: Int, byte: UInt8)])] = [
        // ":content-type" → ":message-type": the same length, now a duplicate name.
        (
            "duplicate name",
            Array(":message-type".utf8).enumerated().map { (at: 1 + 11 + 1 + 2 + 17 + 1 + $0.offset, byte: $0.element) }
        ),
        ("invalid UTF-8 in a string value", [(1 + 11 + 1 + 2, 0xFF)]),
        ("invalid UTF-8 in a name", [(2, 0xC0)]),
        ("unknown value type", [(1 + 11, 10)]),
        ("value length past the section", [(1 + 11 + 1 + 1, 200)]),
        ("name length past the section", [(0, 250)]),
    ]

    @Test("a repeated section changed by one byte fails with the same error as alone, in every decoding")
    func oneByteChangeAfterARememberedSectionFailsAsAlone() throws {
        let first = Self.frame(Self.deltaSection, Self.payload)
        for (what, patch) in Self.oneByteChanges {
            var section = Self.deltaSection
            for (at, byte) in patch { section[at] = byte }
            let second = Self.frame(section, Self.payload)
            // Alone, the changed message fails: this is the error to expect after the first.
            let alone = Self.decodeAllWays(second)
            let aloneError = try #require(alone.error, "\(what): accepted alone")
            #expect(alone.messages.isEmpty)
            for cuts in [[], [first.count], [first.count + 5], [3, first.count + 30]] {
                let stream = Self.decodeAllWays(first + second + first, cuts: cuts)
                #expect(stream.messages.count == 1, "\(what)")
                let error = try #require(stream.error, "\(what): accepted after a remembered section")
                #expect(error.reason == aloneError.reason, "\(what): \(error) vs alone \(aloneError)")
                #expect(error.streamOffset == first.count, "\(what)")
            }
        }
    }

    @Test("a section equal in length but with another routing value is walked, and routes by its own value")
    func sameLengthOtherValueRoutesByItsOwnValue() throws {
        let other =
            Self.header(":event-type", "contentBlockDelts") + Self.header(":content-type", "application/json")
            + Self.header(":message-type", "event")
        let exception =
            Self.header(":event-type", "contentBlockDelta") + Self.header(":content-type", "application/json")
            + Self.header(":message-type", "excep")
        let stream =
            Self.frame(Self.deltaSection, Self.payload) + Self.frame(other, Self.payload)
            + Self.frame(Self.deltaSection, Self.payload) + Self.frame(exception, Self.payload)
        let seen = Self.decodeAllWays(stream, cuts: [10, 200])
        #expect(seen.error == nil)
        try #require(seen.messages.count == 4)
        #expect(
            seen.messages.map { $0[1] } == [
                "contentBlockDelta", "contentBlockDelts", "contentBlockDelta", "contentBlockDelta",
            ])
        #expect(seen.messages.map { $0[5] } == ["true", "false", "true", "true"])
        #expect(seen.messages.map { $0[4] } == ["event", "event", "event", #"other("excep")"#])
    }

    @Test("messages kept from buffers that cut them stay intact while the carry's storage is reused")
    func keptMessagesSurviveCarryReuse() throws {
        let payloads = (0..<60).map { Array("{\"text\":\"delta \($0) \(String(repeating: "x", count: $0))\"}".utf8) }
        let stream = payloads.flatMap { Self.frame(Self.deltaSection, $0) }
        for step in [7, 50, 100, 333] {
            var decoder = EventStreamDecoder()
            var kept: [EventStreamMessage] = []
            var start = 0
            while start < stream.count {
                let end = min(start + step, stream.count)
                decoder.append(contentsOf: stream[start..<end])
                start = end
                // Both paths, in turn: the in-place one keeps the carry's storage for reuse.
                if start / step % 2 == 0 {
                    try decoder.decodeAvailable { kept.append($0.makeMessage()) }
                } else {
                    while let message = try decoder.nextMessage() { kept.append(message) }
                }
            }
            try decoder.finish()
            #expect(kept.map(\.payloadBytes) == payloads, "step \(step)")
            #expect(kept.allSatisfy { $0.eventType == "contentBlockDelta" }, "step \(step)")
        }
    }

    /// Sections drawn from a small pool (so they repeat, as in a stream), some of them
    /// the same length with different bytes, some invalid.
    static func pool() -> [[UInt8]] {
        var pool: [[UInt8]] = [
            [],
            deltaSection,
            header(":event-type", "contentBlockDelts") + header(":content-type", "application/json")
                + header(":message-type", "event"),
            header(":message-type", "exception") + header(":exception-type", "throttlingException"),
            header(":message-type", "error") + header(":error-code", "Boom") + header(":error-message", "it broke"),
            header(":event-type", type: 4, [0, 0, 0, 1]) + header(":message-type", "event"),
            header(":event-type", "a") + header(":event-type", "b"),  // duplicate
            header(":event-type", [0xE2, 0x82]),  // truncated UTF-8
            header(":event-type", "messageStop") + header("x", type: 0, []) + header("y", type: 6, [0xFF, 0xFE]),
            header(":event-type", "chunk") + header(":content-type", "application/json")
                + header(":message-type", "event") + header("long", String(repeating: "v", count: 300)),
        ]
        // The delta section with each of its bytes changed, as a mutator would.
        for at in stride(from: 0, to: deltaSection.count, by: 7) {
            var changed = deltaSection
            changed[at] ^= 0x21
            pool.append(changed)
        }
        return pool
    }

    @Test("the memo agrees with walking every section: 2,000 streams of repeated and varied sections, any split")
    func memoAgreesWithTheFullWalk() {
        let pool = Self.pool()
        var random = EventStreamMutator(seed: 0x4D45_4D4F)
        var failures = 0
        var messages = 0
        for _ in 0..<2000 {
            var stream: [UInt8] = []
            for _ in 0..<(1 + random.below(12)) {
                // Mostly the delta section, as in a real stream.
                let section = random.below(3) == 0 ? pool[random.below(pool.count)] : Self.deltaSection
                stream += Self.frame(section, Array(Self.payload.prefix(random.below(Self.payload.count + 1))))
            }
            let seen = Self.decodeAllWays(stream, cuts: random.cuts(for: stream.count))
            if seen.error != nil { failures += 1 }
            messages += seen.messages.count
        }
        // Both kinds of ending were exercised.
        #expect(failures > 100 && failures < 1900, "failures \(failures)")
        #expect(messages > 5000, "messages \(messages)")
    }
}
