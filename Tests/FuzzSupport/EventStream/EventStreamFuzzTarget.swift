import BedrockWire

/// The event-stream decoder: every input decodes to messages plus one typed ending,
/// the same whole, split (at points derived from the input, so a finding replays
/// exactly) and in place; decoded messages survive re-encoding.
public enum EventStreamFuzzTarget {
    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        var mutator = EventStreamMutator(seed: UInt64(CRC32.checksum(data)))
        let cuts = mutator.cuts(for: data.count)
        do {
            try EventStreamFuzzCheck.check(data, cuts: cuts)
        } catch {
            throw FuzzFinding("eventstream", error.description)
        }
    }
}
