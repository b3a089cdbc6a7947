// Fuzz target for the event-stream decoder.
//
// libFuzzer (coverage-guided):
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER --product EventStreamFuzz
//   .build/debug/EventStreamFuzz -max_total_time=60 [corpus-dir]
// Deterministic mutation run (any toolchain):
//   swift run -c release EventStreamFuzz [--iterations N] [--seed S] [file-or-folder ...]
//
// Every input must decode to messages plus one typed ending, the same in any split,
// and decoded messages must survive re-encoding (see `EventStreamFuzzCheck`).
import BedrockWire
import Foundation
import NIOCore

#if LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func eventStreamFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // Split points derived from the input itself, so a finding replays exactly.
    var mutator = EventStreamMutator(seed: UInt64(truncatingIfNeeded: CRC32.checksum(bytes)))
    let cuts = mutator.cuts(for: bytes.count)
    do {
        try EventStreamFuzzCheck.check(bytes, cuts: cuts)
    } catch {
        FileHandle.standardError.write(Data("event-stream fuzz finding: \(error)\n".utf8))
        abort()
    }
    return 0
}

// SwiftPM links an executable with `main` aliased to `<Module>_main`, which hides
// libFuzzer's own `main`; provide that symbol and hand control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("EventStreamFuzz_main")
public func eventStreamFuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return llvmFuzzerRunDriver(&count, &arguments, eventStreamFuzzOneInput)
}
#else
@main
struct EventStreamFuzz {
    static func main() {
        var iterations = 100_000
        var seed: UInt64 = 1
        var paths: [String] = []
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--iterations":
                guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else { usage("--iterations needs a positive number") }
                iterations = value
            case "--seed":
                guard let value = arguments.popFirst().flatMap(UInt64.init) else { usage("--seed needs a number") }
                seed = value
            case "-h", "--help": usage(nil)
            default: paths.append(argument)
            }
        }
        var corpus = builtInSeeds()
        for path in paths { corpus += readCorpus(path) }

        var mutator = EventStreamMutator(seed: seed)
        var decodedMessages = 0
        let start = Date()
        for iteration in 0..<iterations {
            let input = mutator.mutate(corpus[mutator.below(corpus.count)], other: corpus[mutator.below(corpus.count)])
            let cuts = mutator.cuts(for: input.count)
            do {
                try EventStreamFuzzCheck.check(input, cuts: cuts)
            } catch {
                let file = "event-stream-finding-\(seed)-\(iteration).bin"
                _ = FileManager.default.createFile(atPath: file, contents: Data(input))
                print("FINDING at iteration \(iteration) (seed \(seed)): \(error)\ninput saved to \(file), cuts \(cuts)")
                exit(1)
            }
            decodedMessages += EventStreamDecodeOutcome.decode(input).messages.count
            // Keep some mutants as new seeds so mutations compound.
            if iteration % 64 == 0, input.count < 1 << 16 { corpus.append(input) }
        }
        let seconds = Date().timeIntervalSince(start)
        print("event-stream fuzz: \(iterations) inputs, \(decodedMessages) messages decoded, no finding, "
              + String(format: "%.1f s (seed %llu, %d corpus entries)", seconds, seed, corpus.count))
    }

    static func usage(_ problem: String?) -> Never {
        if let problem { print("error: \(problem)") }
        print("usage: EventStreamFuzz [--iterations N] [--seed S] [file-or-folder ...]")
        exit(problem == nil ? 0 : 2)
    }

    /// Frames of every shape Bedrock sends, written by our own encoder.
    static func builtInSeeds() -> [[UInt8]] {
        let writer = EventStreamWriter()
        var seeds: [[UInt8]] = []
        var body = ByteBuffer()
        let messages: [EventStreamMessage] = [
            EventStreamWriter.event("messageStart", payload: ByteBuffer(string: #"{"role":"assistant","p":"abc"}"#)),
            EventStreamWriter.event("contentBlockDelta", payload: ByteBuffer(string: #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)),
            EventStreamWriter.exception(.throttling, message: "Too many requests"),
            EventStreamWriter.error(code: "InternalFailure", message: "boom"),
            EventStreamMessage(headers: [
                .init(name: "b", value: .bool(true)), .init(name: "y", value: .byte(-1)),
                .init(name: "s", value: .short(300)), .init(name: "i", value: .int(-7)),
                .init(name: "l", value: .long(1 << 40)), .init(name: "a", value: .bytes([0, 1, 2])),
                .init(name: "t", value: .timestamp(milliseconds: 1_718_886_896_789)),
                .init(name: "u", value: .uuid(UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)))),
            ], payloadBytes: Array("{}".utf8)),
            EventStreamMessage(),
        ]
        for message in messages {
            guard let frame = try? writer.frame(message) else { continue }
            seeds.append(Array(frame.readableBytesView))
            body.writeImmutableBuffer(frame)
        }
        seeds.append(Array(body.readableBytesView))
        return seeds
    }

    /// The files at `path` (a file, or every file in a folder) as seeds.
    static func readCorpus(_ path: String) -> [[UInt8]] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            usage("no such file or folder: \(path)")
        }
        let files = isFolder.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
            : [path]
        return files.compactMap { FileManager.default.contents(atPath: $0).map(Array.init) }
    }
}
#endif
