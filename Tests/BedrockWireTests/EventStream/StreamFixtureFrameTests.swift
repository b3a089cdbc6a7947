import BedrockWire
import Foundation
import NIOCore
import QuarryFuzzSupport
import TestSupport
import Testing

/// The raw ConverseStream / InvokeModelWithResponseStream bodies recorded with boto3:
/// each `.bin` decodes, in every piece size boto3 was checked with, into exactly the
/// frames its `.json` lists; and `EventStreamWriter` frames each of them to the same
/// bytes (which also pins the header order, since the bytes include it).
@Suite struct StreamFixtureFrameTests {
    struct Fixture: Decodable {
        var name: String
        var body_length: Int
        var frames: [Frame]
        var verified_piece_sizes: [PieceSize]?

        struct Frame: Decodable {
            var offset: Int
            var length: Int
            var headers: [String: String]
            var payload_utf8: String
            var not_in_body: Bool?
            var truncated_in_body_to: Int?
        }

        /// `"whole body"` or a byte count.
        enum PieceSize: Decodable {
            case whole, bytes(Int)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let n = try? c.decode(Int.self) {
                    self = .bytes(n)
                } else {
                    _ = try c.decode(String.self); self = .whole
                }
            }
        }
    }

    /// Each `.bin` in the fixture folder with its parsed `.json`; throws when there is none.
    static func loadFixtures() throws -> [(fixture: Fixture, body: [UInt8])] {
        let folder = ConformanceFile.streamFixtures.url
        let bins = try ConformanceFile.streamFixtures.names(endingIn: ".bin")
        return try bins.map { bin in
            let base = String(bin.dropLast(4))
            let jsonURL = folder.appendingPathComponent(base + ".json")
            guard let body = FileManager.default.contents(atPath: folder.appendingPathComponent(bin).path),
                let json = FileManager.default.contents(atPath: jsonURL.path)
            else {
                throw ConformanceFile.Missing(description: "cannot read \(bin) or \(base).json in \(folder.path)")
            }
            let fixture = try JSONDecoder().decode(Fixture.self, from: json)
            return (fixture, Array(body))
        }
    }

    static func readable(_ message: EventStreamMessage) -> [String: String] {
        var result: [String: String] = [:]
        for header in message.headers { result[header.name] = header.value.stringValue ?? header.value.description }
        return result
    }

    @Test("every .bin decodes into the frames its .json lists, in every piece size")
    func binariesDecodeToTheirFrames() throws {
        let fixtures = try Self.loadFixtures()
        var checked = 0
        for (fixture, body) in fixtures {
            #expect(body.count == fixture.body_length, "\(fixture.name): body length")
            let complete = fixture.frames.filter { $0.not_in_body != true && $0.truncated_in_body_to == nil }
            let cutShort = fixture.frames.first { $0.truncated_in_body_to != nil }
            var pieceSizes: [Int?] = (fixture.verified_piece_sizes ?? [.whole]).map {
                if case .bytes(let n) = $0 { n } else { nil }
            }
            pieceSizes += [3, 977]
            for size in pieceSizes {
                let cuts = size.map { Array(stride(from: $0, to: body.count, by: $0)) } ?? []
                let outcome = EventStreamDecodeOutcome.decode(body, cuts: cuts)
                let label = "\(fixture.name) in pieces of \(size.map(String.init) ?? "whole body")"
                try #require(
                    outcome.messages.count == complete.count,
                    "\(label): \(outcome.messages.count) messages, \(outcome.ending)")
                for (message, frame) in zip(outcome.messages, complete) {
                    #expect(Self.readable(message) == frame.headers, "\(label) @\(frame.offset): headers")
                    #expect(message.payloadString == frame.payload_utf8, "\(label) @\(frame.offset): payload")
                    let encoded = try EventStreamEncoder().encode(message)
                    #expect(
                        Array(encoded.readableBytesView) == Array(body[frame.offset..<(frame.offset + frame.length)]),
                        "\(label) @\(frame.offset): re-encoded frame differs")
                }
                if let cutShort {
                    // The body stops inside a frame: an error naming the truncation, not a silent end.
                    guard case .truncated(let error) = outcome.ending,
                        case .truncated(let buffered, let expected) = error.reason
                    else {
                        Issue.record("\(label): expected a truncation, got \(outcome.ending)")
                        continue
                    }
                    #expect(error.streamOffset == cutShort.offset)
                    #expect(buffered == body.count - cutShort.offset)
                    #expect(expected == (buffered >= 12 ? cutShort.length : nil))
                } else {
                    #expect(outcome.ending == .complete, "\(label): \(outcome.ending)")
                }
            }
            checked += 1
        }
        print("stream fixtures: \(checked) bodies decoded frame by frame")
    }

    @Test("EventStreamWriter frames every recorded event and exception byte for byte")
    func writerReproducesRecordedFrames() throws {
        let fixtures = try Self.loadFixtures()
        let writer = EventStreamWriter()
        var framesChecked = 0
        for (fixture, body) in fixtures {
            for frame in fixture.frames where frame.not_in_body != true && frame.truncated_in_body_to == nil {
                let payload = ByteBuffer(string: frame.payload_utf8)
                let message: EventStreamMessage
                switch frame.headers[":message-type"] {
                case "event":
                    let eventType = try #require(frame.headers[":event-type"])
                    message = EventStreamWriter.event(eventType, payload: payload)
                case "exception":
                    let exceptionType = try #require(frame.headers[":exception-type"])
                    message = EventStreamWriter.exception(exceptionType, payload: payload)
                default:
                    Issue.record("\(fixture.name) @\(frame.offset): unexpected frame \(frame.headers)")
                    continue
                }
                let bytes = try writer.frame(message)
                #expect(
                    Array(bytes.readableBytesView) == Array(body[frame.offset..<(frame.offset + frame.length)]),
                    "\(fixture.name) @\(frame.offset): writer's frame differs from the recorded one")
                framesChecked += 1
            }
        }
        try #require(framesChecked > 0)
        print("stream fixtures: \(framesChecked) frames reproduced by EventStreamWriter")
    }
}
