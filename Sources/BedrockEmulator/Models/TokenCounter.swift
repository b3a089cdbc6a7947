/// The emulator's tokenizer: a token is a run of letters or digits (at most eight
/// characters long) or one other visible character, together with the whitespace before
/// it. The pieces concatenate back to the text, so streams can send one token per delta
/// and `maxTokens` can cut an answer at an exact token count. CountTokens and `usage`
/// use the same function, so they always agree.
public enum TokenCounter {
    /// The number of tokens in `text`.
    public static func count(_ text: String) -> Int { pieces(text).count }

    /// The text split into tokens (see the type's description).
    public static func pieces(_ text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        var runLength = 0
        var inWord = false
        var sawVisible = false
        while index < text.endIndex {
            let character = text[index]
            let isWordCharacter = character.isLetter || character.isNumber
            if character.isWhitespace {
                if sawVisible {
                    result.append(text[start..<index])
                    start = index
                    sawVisible = false
                }
                inWord = false
            } else if isWordCharacter {
                if sawVisible && (!inWord || runLength >= 8) {
                    result.append(text[start..<index])
                    start = index
                    runLength = 0
                }
                if !inWord { runLength = 0 }
                inWord = true
                sawVisible = true
                runLength += 1
            } else {
                if sawVisible {
                    result.append(text[start..<index])
                    start = index
                }
                inWord = false
                sawVisible = true
                runLength = 0
            }
            index = text.index(after: index)
        }
        if start < text.endIndex {
            if sawVisible || result.isEmpty {
                result.append(text[start...])
            } else if let last = result.popLast() {
                // Trailing whitespace belongs to the last token.
                result.append(text[last.startIndex...])
            }
        }
        return result
    }
}

/// SplitMix64: a tiny, well-known seeded generator, so answers, tool-use ids and fault
/// probabilities are reproducible from a seed.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// FNV-1a over bytes: a stable hash (Swift's `Hasher` is randomly seeded per process).
enum StableHash {
    static func of(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func of(_ text: String) -> UInt64 { of(text.utf8) }
}
