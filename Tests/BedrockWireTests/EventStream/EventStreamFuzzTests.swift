import BedrockWire
import Foundation
import NIOCore
import QuarryFuzzSupport
import Testing

/// A short, deterministic mutation run on every test pass: mutants of the recorded
/// bodies and vector messages must decode to messages plus one typed ending, the same
/// in any split, and decoded messages must survive re-encoding. The long runs live in
/// the libFuzzer target `eventstream` (`scripts/fuzz`).
@Suite struct EventStreamFuzzTests {
    static func seeds() throws -> [[UInt8]] {
        let (file, _) = try EventStreamVectorFile.load()
        var seeds = try file.valid.filter { $0.bytes_hex != nil && $0.length < 4096 }.map { try $0.messageBytes() }
        seeds += try file.invalid.map { try TestBytes.hex($0.bytes_hex) }
        seeds += try StreamFixtureFrameTests.loadFixtures().map(\.body)
        return seeds
    }

    @Test("the mutator's arithmetic cannot trap: length fields at UInt32.max and 0 are nudged with wrapping")
    func mutatorNeverTrapsOnExtremeLengthFields() {
        // Both length fields at the top of their range, then at zero: nudging one by
        // -4...4 (rule 6) once overflowed UInt32 and trapped the fuzzer.
        let extremes: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0xAB, count: 24),
            [UInt8](repeating: 0, count: 32),
        ]
        var mutator = EventStreamMutator(seed: 25)
        var lengths: Set<UInt32> = []
        for round in 0..<20_000 {
            let mutant = mutator.mutate(extremes[round % 2], other: [])
            if mutant.count >= 4 { lengths.insert(mutant[0..<4].reduce(0) { $0 << 8 | UInt32($1) }) }
        }
        // The wrapped nudges reach both sides of each extreme.
        #expect(lengths.contains(2) && lengths.contains(UInt32.max - 2), "lengths seen: \(lengths.count)")
    }

    @Test("the mutator's arithmetic cannot trap on any input: extreme fields at every length, many seeds")
    func mutatorNeverTrapsOnAnyInput() {
        // Inputs made of the extreme byte values at every length around the 16-byte
        // minimum a length rewrite needs, plus near-UInt32.max totals whose CRC repair
        // would index past the end if it trusted the field; mutated again and again
        // (mutants of mutants), each with a fresh seed.
        var inputs: [[UInt8]] = []
        for count in 0...40 {
            for fill: UInt8 in [0x00, 0x7F, 0x80, 0xFF] { inputs.append([UInt8](repeating: fill, count: count)) }
        }
        inputs.append([0xFF, 0xFF, 0xFF, 0xFC, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8))
        inputs.append([0, 0, 0, 16, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0xFF, count: 8))
        var survived = 0
        for (index, input) in inputs.enumerated() {
            var mutator = EventStreamMutator(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            var current = input
            for _ in 0..<200 {
                current = mutator.mutate(current, other: inputs[mutator.below(inputs.count)])
                if current.count > 4096 { current = input }
                _ = mutator.cuts(for: current.count)
            }
            survived += 1
        }
        #expect(survived == inputs.count)
    }

    @Test("3000 mutants: every outcome is messages plus a typed ending, identical in any split")
    func mutantsNeverCrashAndAreSplitInvariant() throws {
        let seeds = try Self.seeds()
        try #require(seeds.count > 10)
        var mutator = EventStreamMutator(seed: 0x5EED)
        var endings = (complete: 0, rejected: 0, truncated: 0)
        var messages = 0
        for _ in 0..<3000 {
            let input = mutator.mutate(seeds[mutator.below(seeds.count)], other: seeds[mutator.below(seeds.count)])
            let cuts = mutator.cuts(for: input.count)
            do {
                try EventStreamFuzzCheck.check(input, cuts: cuts)
            } catch {
                Issue.record(
                    "\(error) for input \(input.map { String($0, radix: 16) }.joined(separator: " ")) cuts \(cuts)")
            }
            let outcome = EventStreamDecodeOutcome.decode(input)
            messages += outcome.messages.count
            switch outcome.ending {
            case .complete: endings.complete += 1
            case .rejected(let error):
                endings.rejected += 1
                #expect(!error.description.isEmpty)
            case .truncated(let error):
                endings.truncated += 1
                guard case .truncated = error.reason else {
                    Issue.record("finish() threw \(error), not a truncation")
                    continue
                }
            }
        }
        // The mutator must reach every kind of ending, or the run tests little.
        #expect(endings.complete > 0 && endings.rejected > 0 && endings.truncated > 0)
        print("event-stream mutation run: 3000 inputs, \(messages) messages, endings \(endings)")
    }
}
