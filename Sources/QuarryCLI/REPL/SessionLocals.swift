/// Makes top-level `local` declarations outlive the line they were typed on.
///
/// `lua` forgets a `local` as soon as its line has run, because every line is its own
/// chunk. The REPL instead rewrites declarations at the top level of an input (outside
/// every function and block) into assignments to session globals:
///
///     local x = 1            →  x = 1
///     local a, b <const> = f →  a, b = f
///     local y                →  y = nil
///     local function g() …   →  function g() …
///
/// `local` inside functions, loops and `do … end` blocks is untouched, and so is a
/// declaration with a `<close>` attribute (it must stay a to-be-closed local). Files run
/// with `:load` are not rewritten. If the input cannot be tokenized (an unfinished
/// string, say) it is returned unchanged and Lua reports the problem.
enum SessionLocals {
    /// The input with its top-level `local` declarations turned into global assignments.
    static func rewrite(_ source: String) -> String {
        guard let tokens = LuaTokenizer.tokens(in: source) else { return source }
        var edits: [(range: Range<Int>, replacement: String)] = []
        var depth = 0
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            switch token.text {
            case "function", "do", "if", "repeat": depth += 1
            case "end", "until": depth = max(0, depth - 1)
            case "local" where depth == 0 && token.kind == .name:
                if let edit = rewriteDeclaration(tokens, at: index) { edits.append(contentsOf: edit) }
            default: break
            }
            index += 1
        }
        guard !edits.isEmpty else { return source }
        var bytes = Array(source.utf8)
        for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            bytes.replaceSubrange(edit.range, with: Array(edit.replacement.utf8))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The edits for the declaration whose `local` is `tokens[start]`, or nil to keep it.
    private static func rewriteDeclaration(_ tokens: [LuaToken], at start: Int)
        -> [(range: Range<Int>, replacement: String)]?
    {
        let local = tokens[start]
        // Remove `local` and the blanks after it.
        let next = start + 1
        guard next < tokens.count else { return nil }
        let removeLocal = (range: local.range.lowerBound..<tokens[next].range.lowerBound, replacement: "")
        if tokens[next].text == "function" { return [removeLocal] }
        var edits = [removeLocal]
        var i = next
        var lastNameEnd = 0
        while true {
            guard i < tokens.count, tokens[i].kind == .name, !LuaTokenizer.keywords.contains(tokens[i].text) else {
                return nil
            }
            lastNameEnd = tokens[i].range.upperBound
            i += 1
            // An attribute: `<const>` is dropped, `<close>` keeps the declaration.
            if i + 2 < tokens.count, tokens[i].text == "<", tokens[i + 2].text == ">" {
                if tokens[i + 1].text != "const" { return nil }
                edits.append((range: tokens[i - 1].range.upperBound..<tokens[i + 2].range.upperBound, replacement: ""))
                i += 3
            }
            if i < tokens.count, tokens[i].text == "," { i += 1; continue }
            break
        }
        if i < tokens.count, tokens[i].text == "=" { return edits }
        edits.append((range: lastNameEnd..<lastNameEnd, replacement: " = nil"))
        return edits
    }
}

/// One Lua token: its kind, its text and where it is (UTF-8 byte offsets).
struct LuaToken: Equatable {
    enum Kind: Equatable { case name, number, string, symbol }
    var kind: Kind
    var text: String
    var range: Range<Int>
}

/// A small Lua lexer: names, numbers, strings (short and long), comments skipped,
/// one- or two-character symbols. Enough to find block structure; not a parser.
enum LuaTokenizer {
    /// Lua's reserved words.
    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
        "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    /// The tokens of `source`, or nil when a string or long comment is unfinished.
    static func tokens(in source: String) -> [LuaToken]? {
        let bytes = Array(source.utf8)
        var tokens: [LuaToken] = []
        var i = 0
        func isNameByte(_ b: UInt8) -> Bool {
            b == UInt8(ascii: "_") || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b >= 0x80
        }
        func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        /// The level of a long bracket `[==[` at `at`, or nil.
        func longBracketLevel(at: Int) -> Int? {
            guard at < bytes.count, bytes[at] == UInt8(ascii: "[") else { return nil }
            var j = at + 1
            while j < bytes.count, bytes[j] == UInt8(ascii: "=") { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: "[") else { return nil }
            return j - at - 1
        }
        /// The index just past the closing `]==]` of a long bracket opened at `at`.
        func skipLong(at: Int, level: Int) -> Int? {
            let close = [UInt8(ascii: "]")] + Array(repeating: UInt8(ascii: "="), count: level) + [UInt8(ascii: "]")]
            var j = at + level + 2
            while j + close.count <= bytes.count {
                if bytes[j] == close[0], Array(bytes[j..<(j + close.count)]) == close { return j + close.count }
                j += 1
            }
            return nil
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C { i += 1; continue }
            if b == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") {
                if let level = longBracketLevel(at: i + 2) {
                    guard let end = skipLong(at: i + 2, level: level) else { return nil }
                    i = end
                } else {
                    while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                }
                continue
            }
            if let level = longBracketLevel(at: i) {
                guard let end = skipLong(at: i, level: level) else { return nil }
                tokens.append(LuaToken(kind: .string, text: text(i..<end), range: i..<end))
                i = end
                continue
            }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                var j = i + 1
                while j < bytes.count, bytes[j] != b {
                    if bytes[j] == UInt8(ascii: "\\") { j += 1 } else if bytes[j] == 0x0A { return nil }
                    j += 1
                }
                guard j < bytes.count else { return nil }
                tokens.append(LuaToken(kind: .string, text: text(i..<(j + 1)), range: i..<(j + 1)))
                i = j + 1
                continue
            }
            if b >= 0x30 && b <= 0x39
                || (b == UInt8(ascii: ".") && i + 1 < bytes.count && bytes[i + 1] >= 0x30 && bytes[i + 1] <= 0x39)
            {
                var j = i + 1
                while j < bytes.count {
                    let c = bytes[j]
                    if isNameByte(c) || c == UInt8(ascii: ".") { j += 1; continue }
                    if (c == UInt8(ascii: "+") || c == UInt8(ascii: "-")),
                        [UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "p"), UInt8(ascii: "P")].contains(
                            bytes[j - 1])
                    {
                        j += 1; continue
                    }
                    break
                }
                tokens.append(LuaToken(kind: .number, text: text(i..<j), range: i..<j))
                i = j
                continue
            }
            if isNameByte(b) {
                var j = i + 1
                while j < bytes.count, isNameByte(bytes[j]) { j += 1 }
                tokens.append(LuaToken(kind: .name, text: text(i..<j), range: i..<j))
                i = j
                continue
            }
            let two = i + 1 < bytes.count ? text(i..<(i + 2)) : ""
            let length = ["==", "~=", "<=", ">=", "..", "::", "//", "<<", ">>"].contains(two) ? 2 : 1
            tokens.append(LuaToken(kind: .symbol, text: text(i..<(i + length)), range: i..<(i + length)))
            i += length
        }
        return tokens
    }
}
