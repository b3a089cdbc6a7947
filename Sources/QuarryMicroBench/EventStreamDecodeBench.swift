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
                        UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + source.count)]).copyMemory(from: source)
                        offset += source.count
                    }
                }
            }
            blackHole(destination[bytes / 2])
        }
        var decode = try harness.measure("event-stream decode", batch: 1) {
            var decoder = EventStreamDecoder()
            var count = 0
            var deltasSeen = 0
            for chunk in chunks {
                decoder.append(chunk)
                while let message = try decoder.nextMessage() {
                    count += 1
                    if message.eventType == "contentBlockDelta", message.payload.readableBytes > 0 { deltasSeen += 1 }
                }
            }
            try decoder.finish()
            guard count == messages, deltasSeen == deltas else {
                throw Failure(description: "decoded \(count) messages (\(deltasSeen) deltas), expected \(messages)")
            }
        }
        let mb = Double(bytes) / 1e6
        // Rates from the median pass (p50 is the time of one whole body).
        let copyRate = mb / (copy.p50 / 1e9)
        let decodeRate = mb / (decode.p50 / 1e9)
        copy.notes = [String(format: "%.0f MB/s", copyRate)]
        decode.notes = [String(format: "%.0f MB/s", decodeRate),
                        String(format: "%.0f events/s", Double(messages) / (decode.p50 / 1e9)),
                        String(format: "%.1f%% of memcpy", 100 * decodeRate / copyRate)]
        copy.name += String(format: " %.1f MB", mb)
        decode.name += String(format: " %d events", messages)
        return [copy, decode]
    }
}
