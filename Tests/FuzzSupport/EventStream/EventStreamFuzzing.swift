import BedrockWire
import NIOCore

/// What decoding one byte string gave: the messages decoded before anything went wrong,
/// and how it ended. Used by the fuzz target and the mutation test in the suite.
package struct EventStreamDecodeOutcome: Equatable, Sendable {
    /// How a decode run ended.
    package enum Ending: Equatable, Sendable {
        /// Every byte formed whole messages.
        case complete
        /// A message was malformed (thrown by `nextMessage`).
        case rejected(EventStreamDecodingError)
        /// The bytes ended inside a message (thrown by `finish`).
        case truncated(EventStreamDecodingError)
    }

    /// Messages decoded, in order.
    package var messages: [EventStreamMessage]
    /// How decoding ended.
    package var ending: Ending

    /// Decodes `bytes`, appended in pieces that end at each offset of `cuts` (sorted,
    /// inside the bytes), draining the decoder after every piece: with `nextMessage()`,
    /// or in place with `decodeAvailable` (each view kept with `makeMessage()`). With
    /// `remembersHeaderSection` false the decoder walks every headers section instead of
    /// comparing it with the last one that passed.
    package static func decode(
        _ bytes: [UInt8], cuts: [Int] = [],
        limits: EventStreamLimits = .standard, inPlace: Bool = false, remembersHeaderSection: Bool = true
    ) -> EventStreamDecodeOutcome {
        var decoder = EventStreamDecoder(limits: limits, remembersHeaderSection: remembersHeaderSection)
        var messages: [EventStreamMessage] = []
        var start = 0
        for end in cuts + [bytes.count] where end > start && end <= bytes.count {
            decoder.append(contentsOf: bytes[start..<end])
            start = end
            do {
                if inPlace {
                    try decoder.decodeAvailable { messages.append($0.makeMessage()) }
                } else {
                    while let message = try decoder.nextMessage() { messages.append(message) }
                }
            } catch let error as EventStreamDecodingError {
                return EventStreamDecodeOutcome(messages: messages, ending: .rejected(error))
            } catch {
                // Not reached: the body above throws nothing, so decodeAvailable throws only
                // decoding errors. Kept as an outcome that can never equal a real one.
                return EventStreamDecodeOutcome(
                    messages: messages,
                    ending: .rejected(
                        EventStreamDecodingError(.truncated(bufferedBytes: -1, expectedBytes: nil), streamOffset: -1)))
            }
        }
        do {
            try decoder.finish()
        } catch {
            return EventStreamDecodeOutcome(messages: messages, ending: .truncated(error))
        }
        return EventStreamDecodeOutcome(messages: messages, ending: .complete)
    }
}

/// A problem the fuzz checks found: a property of the codec that did not hold.
package struct EventStreamFuzzFinding: Error, CustomStringConvertible, Sendable {
    /// What did not hold.
    package var description: String
}

/// The properties every input must satisfy, whatever its bytes:
/// - decoding ends in messages plus one typed ending (no crash, no hang: the decoder
///   consumes or rejects every byte it is given);
/// - splitting the bytes differently gives the same outcome, in place or not, and with
///   or without the memo of the last headers section;
/// - a decoded message that the encoder accepts re-encodes to bytes that decode to the
///   same message.
package enum EventStreamFuzzCheck {
    /// Checks `bytes`, with the extra split points `cuts`; throws the first property
    /// that failed.
    package static func check(_ bytes: [UInt8], cuts: [Int]) throws(EventStreamFuzzFinding) {
        let whole = EventStreamDecodeOutcome.decode(bytes)
        let split = EventStreamDecodeOutcome.decode(bytes, cuts: cuts.sorted())
        guard whole == split else {
            throw EventStreamFuzzFinding(
                description:
                    "splitting at \(cuts.sorted()) changed the outcome: \(whole.messages.count) messages / \(whole.ending) vs \(split.messages.count) / \(split.ending)"
            )
        }
        let inPlace = EventStreamDecodeOutcome.decode(bytes, cuts: cuts.sorted(), inPlace: true)
        guard inPlace == whole else {
            throw EventStreamFuzzFinding(
                description:
                    "decoding in place changed the outcome: \(whole.messages.count) messages / \(whole.ending) vs \(inPlace.messages.count) / \(inPlace.ending)"
            )
        }
        let walked = EventStreamDecodeOutcome.decode(
            bytes, cuts: cuts.sorted(), inPlace: true, remembersHeaderSection: false)
        guard walked == inPlace else {
            throw EventStreamFuzzFinding(
                description:
                    "the memo of the last headers section changed the outcome: \(walked.messages.count) messages / \(walked.ending) vs \(inPlace.messages.count) / \(inPlace.ending)"
            )
        }
        for message in whole.messages + inPlace.messages + walked.messages {
            // The routing accessors agree with the headers they summarise.
            let first = { (name: String) in message.headers.first { $0.name == name }?.value.stringValue }
            guard message.messageType == first(":message-type"), message.eventType == first(":event-type"),
                message.exceptionType == first(":exception-type"), message.contentType == first(":content-type")
            else {
                throw EventStreamFuzzFinding(
                    description: "routing headers disagree with the header list: \(message.headers)")
            }
        }
        let encoder = EventStreamEncoder()
        for message in whole.messages {
            guard let bytes = try? encoder.encode(message) else { continue }
            let again = EventStreamDecodeOutcome.decode(Array(bytes.readableBytesView))
            guard again.ending == .complete, again.messages == [message] else {
                throw EventStreamFuzzFinding(
                    description: "a decoded message did not survive re-encoding: \(again.ending)")
            }
        }
    }
}

/// A deterministic byte-string mutator (SplitMix64-seeded) that knows the event-stream
/// layout: besides flips, inserts, deletes and splices it rewrites length fields and
/// then repairs the CRCs, so that mutants get past the checksums into header parsing.
package struct EventStreamMutator: Sendable {
    private var generator: SeededGenerator

    /// A mutator whose choices depend only on `seed`.
    package init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// The next pseudo-random 64-bit value.
    package mutating func next() -> UInt64 { generator.next() }

    /// A value in `0..<bound` (0 when bound is 0).
    package mutating func below(_ bound: Int) -> Int {
        bound <= 0 ? 0 : Int(next() % UInt64(bound))
    }

    /// Up to `maxCount` random split points inside `length` bytes.
    package mutating func cuts(for length: Int, maxCount: Int = 6) -> [Int] {
        guard length > 1 else { return [] }
        return (0..<below(maxCount + 1)).map { _ in 1 + below(length - 1) }
    }

    /// A mutant of `input`, sometimes combined with `other`.
    package mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        let rounds = 1 + below(3)
        for _ in 0..<rounds {
            switch below(10) {
            case 0 where !bytes.isEmpty:  // flip one bit
                let i = below(bytes.count)
                bytes[i] ^= UInt8(1) << UInt8(below(8))
            case 1 where !bytes.isEmpty:  // set a byte to an interesting value
                let interesting: [UInt8] = [0, 1, 7, 9, 10, 0x7F, 0x80, 0xFF]
                bytes[below(bytes.count)] = interesting[below(interesting.count)]
            case 2 where !bytes.isEmpty:  // truncate
                bytes.removeLast(below(bytes.count) + 1)
            case 3:  // insert random bytes
                let at = below(bytes.count + 1)
                bytes.insert(contentsOf: (0..<(1 + below(8))).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
            case 4 where bytes.count > 1:  // delete a range
                let from = below(bytes.count)
                bytes.removeSubrange(from..<min(bytes.count, from + 1 + below(16)))
            case 5 where !other.isEmpty:  // splice in part of another input
                let from = below(other.count)
                let piece = other[from..<min(other.count, from + 1 + below(64))]
                bytes.insert(contentsOf: piece, at: below(bytes.count + 1))
            case 6 where bytes.count >= 16:  // rewrite a length, repair the CRCs
                let field = below(2) * 4
                let value: UInt32 =
                    below(2) == 0
                    ? UInt32(truncatingIfNeeded: next())
                    : readUInt32(bytes, field) &+ UInt32(below(9)) &- 4  // nudged by -4...4, wrapping
                writeUInt32(&bytes, field, value)
                repairCRCs(&bytes)
            case 7 where bytes.count >= 16:  // change a header byte, repair the CRCs
                bytes[12 + below(bytes.count - 15)] = UInt8(truncatingIfNeeded: next())
                repairCRCs(&bytes)
            case 8 where bytes.count >= 16:  // corrupt the message, repair the CRCs
                let i = below(bytes.count)
                bytes[i] = bytes[i] &+ UInt8(truncatingIfNeeded: 1 + below(3))
                repairCRCs(&bytes)
            default:  // duplicate the input (message boundaries)
                bytes += input.prefix(below(input.count + 1))
            }
        }
        return bytes
    }

    private func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private func writeUInt32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(k))) }
    }

    /// Recomputes the prelude CRC of the first message and its message CRC when the
    /// declared total length lies inside the bytes.
    private func repairCRCs(_ bytes: inout [UInt8]) {
        guard bytes.count >= 12 else { return }
        writeUInt32(&bytes, 8, CRC32.checksum(bytes[0..<8]))
        let total = Int(readUInt32(bytes, 0))
        guard total >= 16, total <= bytes.count else { return }
        writeUInt32(&bytes, total - 4, CRC32.checksum(bytes[0..<(total - 4)]))
    }
}
