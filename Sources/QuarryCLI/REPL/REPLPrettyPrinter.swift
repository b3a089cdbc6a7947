/// The REPL's value renderer, written in Lua so it sees values as Lua does.
///
/// It defines a local `render_all(colour, width, ...)` returning one string for all
/// values (nil for none): tab-separated when each fits on a line, else one per line.
/// - Tables: array part first, then the other keys sorted (numbers, strings, booleans,
///   then the rest by type), identifiers as `key = `, others as `[key] = `; a table that
///   fits in the width stays on one line, else one entry per line indented by two.
/// - Cycles print as `<cycle>` (only a table inside itself is a cycle; a table shared
///   by two fields prints twice). Deeper than 8 levels prints `{…}`; more than 200
///   entries print `… (N more)`.
/// - Strings are quoted and escaped as `string.format("%q")` escapes them, so the text is
///   a Lua literal that reads back the same bytes: control bytes and bytes that are not
///   valid UTF-8 show in decimal (`"\255\0"`), with `\n`, `\r`, `\t` kept readable;
///   past 200 bytes inside a table (4000 at the top) they are cut with `…(+N bytes)`.
/// - The JSON `null` sentinel prints `null`; handles and tables with `__tostring`
///   (host error tables) print their `tostring`; functions print `<function>` (their
///   addresses say nothing useful at a prompt).
/// - A `BedrockStream` returned at the prompt is drained first: its text is written as
///   it arrives, then how it ended (stop reason and usage; tool uses, restarts or an
///   incomplete end when there were any; the status line says the rest). The global `_`
///   holds the first value of the last expression (for a stream, the whole response).
/// - It reaches the string library through the string metatable, so reassigning the
///   global `string` in a session does not break printing.
enum REPLPrettyPrinter {
    /// The source, from `pretty_printer.lua` beside this file, embedded at build time.
    static let source = String(decoding: PackageResources.pretty_printer_lua, as: UTF8.self)
}
