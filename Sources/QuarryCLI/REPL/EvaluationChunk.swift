/// Builds the Lua chunk the REPL evaluates for one input.
///
/// The input travels inside the chunk as a long-bracket string literal, so the chunk is
/// self-contained: nothing is stored in the session's globals and a user who reassigns
/// a global cannot break the REPL's own code. The chunk
/// 1. compiles `return <input>` first and the input itself second (like `lua` 5.4), so
///    an expression prints its value and a statement just runs (the expression's values
///    pass through a function call, so a call in it is not a tail call and its errors
///    name the input's line);
/// 2. reports a compile error as `"syntax", message` instead of raising it, so the
///    REPL can tell an incomplete chunk (`<eof>`) from a wrong one;
/// 3. runs the code in the caller's coroutine (Bedrock calls yield as usual) and lets
///    runtime errors propagate with their `name:line` position;
/// 4. pretty-prints the results in Lua (`REPLPrettyPrinter.source`), where cycles,
///    handles, read-only host tables and the `null` sentinel are all visible.
///
/// It returns `"ok", isExpression, text` (text is nil when there were no values) or
/// `"syntax", message`.
struct EvaluationChunk {
    /// The code the user typed (after `SessionLocals` rewriting).
    var input: String
    /// The chunk name errors show (`=repl` shows as `repl:1:`, `@file.lua` as `file.lua:1:`).
    var chunkName: String
    /// Whether to try `return <input>` first (off for `:load`, which runs a file as-is).
    var printsExpressions: Bool = true
    /// ANSI colour in the rendering.
    var colour: Bool
    /// The terminal width the renderer fits one-line tables into.
    var width: Int = 80

    /// The Lua source to evaluate: the printer, this input's values as locals, then the
    /// evaluation step (`evaluation.lua`, embedded at build time).
    var source: String {
        REPLPrettyPrinter.source
            + "local src, name, try_return, colour, width = \(Self.longString(input)), \(Self.longString(chunkName)), "
            + "\(printsExpressions), \(colour), \(max(width, 20))\n"
            + Self.evaluation
    }

    /// The evaluation step, from `evaluation.lua` beside this file.
    static let evaluation = String(decoding: PackageResources.evaluation_lua, as: UTF8.self)

    /// `text` as a Lua long-bracket literal whose level cannot close early. The leading
    /// newline is dropped by Lua, so the literal's value is exactly `text`.
    static func longString(_ text: String) -> String {
        var level = 0
        while text.contains("]" + String(repeating: "=", count: level) + "]") { level += 1 }
        let equals = String(repeating: "=", count: level)
        return "[\(equals)[\n\(text)]\(equals)]"
    }

    /// Whether a compile error means "the chunk is not finished yet": Lua reports the end
    /// of input as `<eof>` (also for an unfinished long string or comment).
    static func isIncomplete(syntaxError message: String) -> Bool {
        message.hasSuffix("<eof>") || message.hasSuffix("near '<eof>'")
    }
}
