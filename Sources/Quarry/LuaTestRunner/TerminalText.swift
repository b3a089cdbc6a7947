/// Makes text that came from the network (service and in-stream error messages, model
/// output quoted in error reports) safe to print on a terminal: every control
/// character except newline and tab — C0, DEL, the C1 range U+0080–U+009F, and the
/// bidirectional overrides that reorder what is shown — is replaced by a visible
/// escape (`\x1b`, `\x7f`, `\u{9b}`, `\u{202e}`), so an escape sequence (window
/// title, OSC 52 clipboard write, cursor movement) in a message is shown, not obeyed.
/// What a script itself prints with `print`/`io.write` is not passed through this.
public enum TerminalText {
    /// `text` with control characters escaped visibly (newline and tab kept).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            if scalar.value < 0x80 {
                result += "\\x" + hex(scalar.value, width: 2)
            } else {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return result
    }

    /// Whether `scalar` must not reach a terminal as is.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: false
        case 0x00...0x1F, 0x7F, 0x80...0x9F: true
        case 0x202A...0x202E, 0x2066...0x2069: true  // bidirectional embeddings, overrides, isolates
        default: false
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
