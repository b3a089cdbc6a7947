import BedrockWire

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
