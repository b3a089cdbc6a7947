import Foundation

/// Reads numbers from environment variables and config keys the way script numbers
/// are read: finite, whole where a count is meant, and inside a stated range, checked
/// *before* any conversion (`Int64(1e300)` traps). A bad value is a sentence naming
/// the setting and the value, never a crash.
enum ConfigNumber {
    /// Why a value was refused, in words (naming the value, not the setting).
    struct Problem: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }

    /// A short, printable form of a rejected value (at most 32 characters).
    static func shown(_ text: String) -> String {
        let printable = String(text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
        return printable.count > 32 ? String(printable.prefix(32)) + "…" : printable
    }

    /// A rejected time stamp as a message may show it: the text itself when it is made of
    /// the characters a time stamp has (digits, `T`, `Z`, `:`, `.`, `+`, `-`, space), else
    /// only its length — an expiration arrives beside a secret and must never echo one.
    static func shownTimestamp(_ text: String) -> String {
        let allowed = Set("0123456789TZtz:.+- ")
        guard text.count <= 40, text.allSatisfy({ allowed.contains($0) }) else {
            return "a value of \(text.count) characters, not shown"
        }
        return "'\(text)'"
    }

    /// Seconds in `range` (fractions allowed), or the problem in words.
    static func seconds(_ text: String, range: ClosedRange<Double>) -> Result<Double, ConfigNumber.Problem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard isDecimal(trimmed, fraction: true), let value = Double(trimmed), value.isFinite else {
            return .failure(Problem(text: "'\(shown(text))' is not a finite number of seconds"))
        }
        guard range.contains(value) else {
            return .failure(
                Problem(
                    text:
                        "'\(shown(text))' is not between \(range.lowerBound.formatted()) and \(range.upperBound.formatted()) seconds"
                ))
        }
        return .success(value)
    }

    /// Plain decimal digits (with one `.` where fractions are allowed): what botocore
    /// reads. Swift's parsers would also take `0x10`, `+3`, `1e2` and `nan`.
    static func isDecimal(_ text: String, fraction: Bool) -> Bool {
        var digits = 0, dots = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: ".") where fraction: dots += 1
            default: return false
            }
        }
        return digits > 0 && dots <= 1
    }

    /// A whole number in `range`, or the problem in words.
    static func integer(_ text: String, range: ClosedRange<Int>) -> Result<Int, ConfigNumber.Problem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard isDecimal(trimmed, fraction: false), let value = Int(trimmed), range.contains(value) else {
            return .failure(
                Problem(text: "'\(shown(text))' is not a whole number from \(range.lowerBound) to \(range.upperBound)"))
        }
        return .success(value)
    }
}
