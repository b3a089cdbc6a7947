import Foundation

/// Tab completion for the REPL: what the word under the cursor could become.
///
/// - `:he` at the start of a line → REPL commands; after `:use ` → model ids; after
///   `:load ` / `:save ` → file names (readline's own).
/// - Inside a string after `model=` (`model="anthropic.cl`) → model ids from the target's
///   model list (`bedrock.models()`, fetched once and cached by the session).
/// - `bedrock.con` → fields of the table or host handle at the dotted path; `c:inv` →
///   methods only (the keys `"c:"` names, whose values are functions); a bare word →
///   globals and Lua keywords. Keys starting with `__` are hidden.
/// - A model id is completed whole even though `-` breaks words (`amazon.nova-p`), and a
///   unique one inside a string closes its quote.
///
/// Lua keys come from the host through `keys`, which the line editor calls
/// synchronously (it blocks the editor's own queue, never a Swift concurrency thread).
struct Completer: Sendable {
    /// The keys at a dotted path (`""` = globals), sorted.
    var keys: @Sendable (String) -> [String]
    /// The model ids the target offers.
    var modelIDs: @Sendable () -> [String]
    /// The REPL command names, with their colon.
    var commands: [String]

    /// What to offer for one word.
    struct Answer: Equatable {
        /// Full replacements for the word (readline shows them and completes their common prefix).
        var candidates: [String]
        /// Fall back to readline's file-name completion.
        var useFilenames = false
        /// Add a space after a unique match.
        var appendSpace = false
        /// What to add after a unique match instead (a string's closing quote).
        var appendCharacter: Character? = nil
    }

    /// The candidates for `word`, given the line text `before` it.
    func complete(word: String, before: String) -> Answer {
        let trimmedBefore = before.drop { $0 == " " || $0 == "\t" }
        if trimmedBefore.isEmpty, word.hasPrefix(":") {
            return Answer(candidates: commands.filter { $0.hasPrefix(word) }, appendSpace: true)
        }
        if trimmedBefore.hasPrefix(":") {
            let command = trimmedBefore.split(separator: " ").first.map(String.init) ?? ""
            switch command {
            case ":use":
                // The argument so far: `-` and `:` break readline's words, not model ids.
                let argument = trimmedBefore.dropFirst(command.count).drop { $0 == " " || $0 == "\t" }
                return modelAnswer(typed: argument + word, word: word)
            case ":load", ":save": return Answer(candidates: [], useFilenames: true)
            case ":target":
                return Answer(candidates: ["aws", "emulator"].filter { $0.hasPrefix(word) }, appendSpace: true)
            default: return Answer(candidates: [])
            }
        }
        if let opened = Self.openString(before) {
            // Inside a string: only model ids after `model =`, nothing else.
            guard opened.precedingCode.range(of: #"model\s*=\s*$"#, options: .regularExpression) != nil else {
                return Answer(candidates: [])
            }
            var answer = modelAnswer(typed: opened.contents + word, word: word)
            answer.appendCharacter = opened.quote
            return answer
        }
        return luaAnswer(word)
    }

    /// Model ids that extend `typed` (the string so far), as replacements for `word`
    /// (its tail after the last word-break character).
    private func modelAnswer(typed: String, word: String) -> Answer {
        let head = typed.dropLast(word.count)
        let matches = modelIDs().filter { $0.hasPrefix(typed) }.map { String($0.dropFirst(head.count)) }
        return Answer(candidates: matches.sorted())
    }

    /// Globals, fields (`a.b.c`) or methods (`a:m`) extending `word`.
    private func luaAnswer(_ word: String) -> Answer {
        guard word.allSatisfy({ $0 == "_" || $0 == "." || $0 == ":" || $0.isLetter || $0.isNumber }),
            !(word.first?.isNumber ?? false)
        else { return Answer(candidates: []) }
        let separatorIndex = word.lastIndex { $0 == "." || $0 == ":" }
        let base: String, prefix: String, joint: String
        if let separatorIndex {
            base = String(word[..<separatorIndex])
            joint = String(word[separatorIndex])
            prefix = String(word[word.index(after: separatorIndex)...])
            guard !base.isEmpty, !base.contains(":") else { return Answer(candidates: []) }
        } else {
            base = ""; joint = ""; prefix = word
        }
        var names = keys(joint == ":" ? base + ":" : base).filter {
            $0.hasPrefix(prefix) && !$0.hasPrefix("__") && Self.isIdentifier($0)
        }
        if base.isEmpty { names += LuaTokenizer.keywords.filter { $0.hasPrefix(prefix) } }
        let candidates = Set(names).map { base.isEmpty ? $0 : base + joint + $0 }.sorted()
        return Answer(candidates: candidates)
    }

    /// The longest common prefix of the candidates (what readline inserts for several).
    static func commonPrefix(_ candidates: [String]) -> String {
        guard var prefix = candidates.first else { return "" }
        for candidate in candidates.dropFirst() {
            while !candidate.hasPrefix(prefix) { prefix.removeLast() }
        }
        return prefix
    }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.first, first == "_" || first.isLetter else { return false }
        return key.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
    }

    /// When `text` ends inside a quoted string: the code before the quote and the
    /// string's contents so far.
    static func openString(_ text: String) -> (precedingCode: String, contents: String, quote: Character)? {
        var quote: Character?
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if let q = quote {
                if c == "\\" {
                    index = text.index(after: index); if index == text.endIndex { break }
                } else if c == q {
                    quote = nil
                }
            } else if c == "\"" || c == "'" {
                quote = c
                start = index
            }
            index = text.index(after: index)
        }
        guard let quote else { return nil }
        return (String(text[..<start]), String(text[text.index(after: start)...]), quote)
    }
}
