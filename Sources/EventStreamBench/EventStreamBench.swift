// Throughput of the event-stream decoder on a large ConverseStream body, next to a plain
// memory copy of the same bytes (the ceiling). Run in release mode:
//   swift run -c release EventStreamBench [--events N] [--chunk BYTES] [--rounds R]
import BedrockWire
import Foundation
import NIOCore

@main
struct EventStreamBench {
    static func main() throws {
        var events = 200_000
        var chunkSize = 16 * 1024
        var rounds = 5
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else {
                print("usage: EventStreamBench [--events N] [--chunk BYTES] [--rounds R]")
                exit(2)
            }
            switch argument {
            case "--events": events = value
            case "--chunk": chunkSize = value
            case "--rounds": rounds = value
            default: print("unknown option \(argument)"); exit(2)
            }
        }

        // A ConverseStream body as the service sends it: messageStart, N text deltas
        // (each with a "p" padding field), contentBlockStop, messageStop, metadata.
        let writer = EventStreamWriter()
        var body = ByteBuffer()
        try writer.writeEvent("messageStart", payload: ByteBuffer(string: #"{"p":"abcdefgh","role":"assistant"}"#), into: &body)
        let padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for i in 0..<events {
            let pad = padding.prefix(i % 37)
            try writer.writeEvent("contentBlockDelta",
                                  payload: ByteBuffer(string: #"{"contentBlockIndex":0,"delta":{"text":" token\#(i % 1000)"},"p":"\#(pad)"}"#),
                                  into: &body)
        }
        try writer.writeEvent("contentBlockStop", payload: ByteBuffer(string: #"{"contentBlockIndex":0,"p":"ab"}"#), into: &body)
        try writer.writeEvent("messageStop", payload: ByteBuffer(string: #"{"p":"abc","stopReason":"end_turn"}"#), into: &body)
        try writer.writeEvent("metadata", payload: ByteBuffer(string: #"{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}"#), into: &body)
        let expectedMessages = events + 4

        // The body as the HTTP client hands it over: a sequence of chunk buffers.
        var chunks: [ByteBuffer] = []
        var rest = body
        while rest.readableBytes > 0, let chunk = rest.readSlice(length: min(chunkSize, rest.readableBytes)) {
            var owned = ByteBuffer()  // each chunk in its own storage, like a network read
            owned.writeImmutableBuffer(chunk)
            chunks.append(owned)
        }
        let bytes = body.readableBytes

        var bestDecode = Double.infinity
        var bestCopy = Double.infinity
        var checksum = 0
        for _ in 0..<rounds {
            // Ceiling: copy every chunk into one destination buffer.
            var destination = [UInt8](repeating: 0, count: bytes)
            var t0 = DispatchTime.now().uptimeNanoseconds
            destination.withUnsafeMutableBytes { out in
                var offset = 0
                for chunk in chunks {
                    chunk.withUnsafeReadableBytes { source in
                        UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + source.count)]).copyMemory(from: source)
                        offset += source.count
                    }
                }
            }
            bestCopy = min(bestCopy, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            checksum &+= Int(destination[bytes / 2])

            // Decoder: every message with its event type read, as a client routes it.
            t0 = DispatchTime.now().uptimeNanoseconds
            var decoder = EventStreamDecoder()
            var count = 0
            var deltas = 0
            for chunk in chunks {
                decoder.append(chunk)
                while let message = try decoder.nextMessage() {
                    count += 1
                    if message.eventType == "contentBlockDelta" { deltas += message.payload.readableBytes > 0 ? 1 : 0 }
                }
            }
            try decoder.finish()
            bestDecode = min(bestDecode, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            guard count == expectedMessages, deltas == events else {
                print("decoded \(count) messages (\(deltas) deltas), expected \(expectedMessages)")
                exit(1)
            }
        }
        let mb = Double(bytes) / 1_000_000
        print(String(format: "body: %d events, %.1f MB in %d-byte chunks; best of %d rounds", expectedMessages, mb, chunkSize, rounds))
        print(String(format: "memory copy : %8.1f MB/s", mb / bestCopy))
        print(String(format: "decode      : %8.1f MB/s  %10.0f events/s  (%.0f%% of memory copy)",
                     mb / bestDecode, Double(expectedMessages) / bestDecode, 100 * bestCopy / bestDecode))
        if checksum == -1 { print("") }  // keeps the copy from being optimised away
    }
}
