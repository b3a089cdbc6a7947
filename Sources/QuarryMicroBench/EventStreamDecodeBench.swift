import BedrockWire
import Foundation
import NIOCore

/// Event-stream decoding of a large ConverseStream body next to a plain memory copy of
/// the same chunks (the ceiling). Every message's event type is read, as a client
/// routes it.
enum EventStreamDecodeBench {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func run(_ harness: Harness, deltas: Int, chunkSize: Int) throws -> [BenchResult] {
        let body = try ConverseStreamBody.make(deltas: deltas)
        let chunks = ConverseStreamBody.chunks(of: body, size: chunkSize)
        let bytes = body.readableBytes
        let messages = deltas + 4
        var destination = [UInt8](repeating: 0, count: bytes)

        var copy = harness.measure("memcpy (same chunks)", batch: 1) {
            destination.withUnsafeMutableBytes { out in
                var offset = 0
                for chunk in chunks {
                    chunk.withUnsafeReadableBytes { source in
                        UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + source.count)]).copyMemory(
                            from: source)
                        offset += source.count
                    }
                }
            }
            blackHole(destination[bytes / 2])
        }
        // The checksums alone, message by message over the same chunks the decoders get
        // (a message cut by a chunk's end is checksummed in pieces, the CRC carried over):
        // the floor of any decoder that checks both CRCs (the spec requires it).
        var lengths: [Int] = []
        var expected: [UInt32] = []  // each message's stored CRC, to check the pieces add up
        var offset = 0
        while let total = body.getInteger(at: body.readerIndex + offset, as: UInt32.self),
            let crc = body.getInteger(at: body.readerIndex + offset + Int(total) - 4, as: UInt32.self)
        {
            lengths.append(Int(total))
            expected.append(crc)
            offset += Int(total)
        }
        guard lengths.count == messages else {
            throw Failure(description: "\(lengths.count) frames, expected \(messages)")
        }
        var checksums = try harness.measure("CRC-32 of every message (prelude + message)", batch: 1) {
            var failures = 0
            var frame = 0
            var position = 0  // in the current message
            var crc: UInt32 = 0
            for chunk in chunks {
                chunk.withUnsafeReadableBytes { raw in
                    var i = 0
                    while i < raw.count, frame < lengths.count {
                        let length = lengths[frame]
                        // The prelude CRC covers bytes 0..<8; the message CRC continues from
                        // it over 8..<length-4; the last four bytes are the CRC itself.
                        let boundary = position < 8 ? 8 : (position < length - 4 ? length - 4 : length)
                        let n = min(boundary - position, raw.count - i)
                        if position < length - 4 {
                            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: raw[i..<(i + n)]))
                        }
                        i += n
                        position += n
                        if position == length {
                            if crc != expected[frame] { failures += 1 }
                            crc = 0
                            position = 0
                            frame += 1
                        }
                    }
                }
            }
            guard frame == messages, failures == 0 else {
                throw Failure(description: "checksummed \(frame) frames, \(failures) wrong")
            }
            blackHole(failures)
        }
        /// Feeds every chunk to a decoder, drains it after each with `drain` (which
        /// tallies messages and text deltas), and checks the totals.
        func decodeBody(
            remembering: Bool = true,
            _ drain: (inout EventStreamDecoder, inout (messages: Int, deltas: Int)) throws -> Void
        ) throws {
            var decoder = EventStreamDecoder(remembersHeaderSection: remembering)
            var seen = (messages: 0, deltas: 0)
            for chunk in chunks {
                decoder.append(chunk)
                try drain(&decoder, &seen)
            }
            try decoder.finish()
            guard seen.messages == messages, seen.deltas == deltas else {
                throw Failure(
                    description: "decoded \(seen.messages) messages (\(seen.deltas) deltas), expected \(messages)")
            }
        }
        // In place: what the client's stream reader does (every message checked, routed
        // by its event type, its payload read where it lies).
        var inPlace = try harness.measure("event-stream decode in place", batch: 1) {
            try decodeBody { decoder, seen in
                try decoder.decodeAvailable { message in
                    seen.messages += 1
                    if message.eventType(is: "contentBlockDelta"), message.payload.count > 0 { seen.deltas += 1 }
                }
            }
        }
        // The same, walking every headers section (no memo of the last one): what the
        // memo saves.
        var walked = try harness.measure("event-stream decode in place, every section walked", batch: 1) {
            try decodeBody(remembering: false) { decoder, seen in
                try decoder.decodeAvailable { message in
                    seen.messages += 1
                    if message.eventType(is: "contentBlockDelta"), message.payload.count > 0 { seen.deltas += 1 }
                }
            }
        }
        // As owned messages (payload slices that outlive the call).
        var decode = try harness.measure("event-stream decode to messages", batch: 1) {
            try decodeBody { decoder, seen in
                while let message = try decoder.nextMessage() {
                    seen.messages += 1
                    if message.eventType == "contentBlockDelta", message.payload.readableBytes > 0 { seen.deltas += 1 }
                }
            }
        }
        let mb = Double(bytes) / 1e6
        // Rates from the median pass (p50 is the time of one whole body).
        let copyRate = mb / (copy.p50 / 1e9)
        let checksumTime = checksums.p50
        let checksumFastest = checksums.fastest
        copy.notes = [String(format: "%.0f MB/s", copyRate)]
        func describe(_ r: inout BenchResult) {
            let rate = mb / (r.p50 / 1e9)
            r.notes = [
                String(format: "%.0f MB/s", rate),
                String(format: "%.0f events/s", Double(messages) / (r.p50 / 1e9)),
                String(format: "%.1f%% of memcpy", 100 * rate / copyRate),
                String(format: "%.1f%% of the CRC-32s", 100 * checksumTime / r.p50),
                String(format: "%.1f ns/message", r.p50 / Double(messages)),
                String(
                    format: "fastest pass %.1f ns/message, %.1f%% of the CRC-32s' fastest",
                    r.fastest / Double(messages), 100 * checksumFastest / r.fastest),
            ]
            r.name += String(format: " %d events", messages)
        }
        describe(&checksums)
        describe(&inPlace)
        describe(&walked)
        describe(&decode)
        copy.name += String(format: " %.1f MB", mb)
        return [copy, checksums, inPlace, walked, decode]
    }
}
