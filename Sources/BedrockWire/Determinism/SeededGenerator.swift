/// SplitMix64: a tiny, well-known seeded generator, so emulator answers, tool-use ids,
/// fault probabilities (emulator and client side) and fuzz mutations repeat from a seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose values depend only on `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next pseudo-random 64-bit value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }

    /// A value in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// FNV-1a over bytes: a stable hash (Swift's `Hasher` is randomly seeded per process),
/// for default seeds derived from names.
public enum StableHash {
    /// The FNV-1a hash of `bytes`, starting from `seed`.
    public static func of(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The FNV-1a hash of a string's UTF-8 bytes.
    public static func of(_ text: String) -> UInt64 { of(text.utf8) }
}
