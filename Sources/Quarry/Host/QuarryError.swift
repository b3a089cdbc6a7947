import Foundation

/// The one error an app switches on: what `evaluate(_:as:)` and `events(for:)` throw,
/// and what ``QuarryError/init(_:)`` makes of any error the older entry points throw
/// (`LuaError`, ``ScriptError``, `CancellationError`).
///
/// `code` is the script's own code for a structured error (`error{code = 'AppError'}`,
/// `PolicyViolation`, `ThrottlingException`), or one of the host's: `SyntaxError`,
/// `RuntimeError` (a plain `error("text")`), `LimitExceeded` (a sandbox limit; `limit`
/// names it), `Cancelled`, `DecodingError` (the result did not fit the type),
/// `ConversionError`, `HostShutDown`, `InternalError`. `localizedDescription` reads
/// `code: message (file:line)`.
///
/// The older `evaluate(_:name:arguments:)` keeps throwing `LuaError` and friends so
/// existing `catch LuaError.runtime` code works; wrap with `QuarryError(error)` to switch
/// on one type there too.
public struct QuarryError: Error, LocalizedError, CustomStringConvertible {
    /// The error's code (the same type as ``ScriptError/Code``: scripts see the raw string).
    public typealias Code = ScriptError.Code

    /// Where in a script an error was raised.
    public struct Location: Sendable, Hashable, CustomStringConvertible {
        /// The chunk name as Lua shows it (`user-script`, `/path/report.lua`).
        public var file: String
        /// The line, from 1.
        public var line: Int
        /// `file:line`.
        public var description: String { "\(file):\(line)" }
        /// A location from its parts.
        public init(file: String, line: Int) { self.file = file; self.line = line }
    }

    /// What went wrong, as a code to switch on.
    public var code: Code
    /// What went wrong, in words (without the location).
    public var message: String
    /// Where the script raised it: the position Lua gives a string or syntax error, or the
    /// `where` field (`file:line`) of a host error table (a failed call, a refusal); nil
    /// for a table the script raised itself with `error{…}`.
    public var location: Location?
    /// The script's original error value (a `{code=…, message=…}` table, a string, …).
    public var value: LuaValue?
    /// The sandbox limit that tripped, for `LimitExceeded`.
    public var limit: LuaLimitKind?
    /// The error this one was made from (`LuaError`, `ScriptError`, a `DecodingError`, …).
    public var underlying: (any Error)?

    /// An error from its parts.
    public init(
        code: Code, message: String, location: Location? = nil, value: LuaValue? = nil,
        limit: LuaLimitKind? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.location = location
        self.value = value
        self.limit = limit
        self.underlying = underlying
    }

    /// `code: message (file:line)`.
    public var description: String {
        "\(code): \(message)" + (location.map { " (\($0))" } ?? "")
    }

    /// The same as `description`, so `error.localizedDescription` is readable.
    public var errorDescription: String? { description }

    /// The `QuarryError` form of any error a host throws.
    public init(_ error: any Error) {
        switch error {
        case let e as QuarryError:
            self = e
        case let e as ScriptError:
            self.init(code: e.code, message: e.message, value: e.luaValue, underlying: e)
        case is CancellationError:
            self.init(code: .cancelled, message: "the run was cancelled", underlying: error)
        case let e as LuaError:
            self.init(lua: e)
        case let e as DecodingError:
            self.init(code: .decodingError, message: Self.describe(e), underlying: e)
        default:
            self.init(code: .hostError, message: String(describing: error), underlying: error)
        }
    }

    private init(lua e: LuaError) {
        switch e {
        case .syntax(let text):
            let (location, message) = Self.split(text)
            self.init(code: .syntaxError, message: message, location: location, underlying: e)
        case .runtime(let text, let value):
            let (location, message) = Self.split(text)
            self.init(code: .runtimeError, message: message, location: location, value: value, underlying: e)
            if let fields = Self.fields(of: value) {
                if let code = fields["code"]?.stringValue, !code.isEmpty { self.code = Code(rawValue: code) }
                if let text = fields["message"]?.stringValue { self.message = text }
                // Host errors carry where the script made the call (`where = "file:line"`).
                if location == nil, let place = fields["where"]?.stringValue, let colon = place.lastIndex(of: ":"),
                    let line = Int(place[place.index(after: colon)...]), colon > place.startIndex
                {
                    self.location = Location(file: String(place[..<colon]), line: line)
                }
            }
        case .limit(let kind, let text):
            if kind == .interrupted {
                self.init(code: .cancelled, message: text, limit: kind, underlying: e)
            } else {
                self.init(code: .limitExceeded, message: text, limit: kind, underlying: e)
            }
        case .conversion(let c):
            self.init(code: .conversionError, message: c.description, underlying: e)
        case .state(let text):
            self.init(code: .internalError, message: text, underlying: e)
        }
    }

    /// The string-keyed fields of an error table, if the value is one.
    private static func fields(of value: LuaValue?) -> [String: LuaValue]? {
        switch value {
        case .map(let m)?: return m
        case .tagged(_, .map(let m))?: return m
        default: return nil
        }
    }

    /// Splits Lua's `chunk:LINE: text` into its location and the text.
    static func split(_ text: String) -> (Location?, String) {
        let scalars = Array(text.utf8)
        var i = 0
        while i < scalars.count {
            if scalars[i] == UInt8(ascii: ":") {
                var j = i + 1
                while j < scalars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scalars[j]) { j += 1 }
                if j > i + 1, j < scalars.count, scalars[j] == UInt8(ascii: ":"), i > 0,
                    let file = String(bytes: scalars[0..<i], encoding: .utf8),
                    let line = Int(String(decoding: scalars[(i + 1)..<j], as: UTF8.self))
                {
                    var rest = scalars[(j + 1)...]
                    if rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
                    return (Location(file: file, line: line), String(decoding: rest, as: UTF8.self))
                }
            }
            // A location comes first or not at all: stop at the first space outside a `[string "…"]` name.
            if scalars[i] == UInt8(ascii: " "), !text.hasPrefix("[string ") { break }
            i += 1
        }
        return (nil, text)
    }

    /// `result.items[2].price: expected Double, found string`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            var out = "result"
            for key in context.codingPath {
                if let index = key.intValue { out += "[\(index + 1)]" } else { out += "." + key.stringValue }
            }
            return out
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(path(c)): \(c.debugDescription)"
        case .keyNotFound(let key, let c):
            return "\(path(c)): the field '\(key.stringValue)' is missing"
        @unknown default:
            return String(describing: error)
        }
    }
}

extension ScriptError.Code {
    /// The script did not compile.
    public static let syntaxError: Self = "SyntaxError"
    /// The script raised a plain (string) error.
    public static let runtimeError: Self = "RuntimeError"
    /// The script's result does not decode into the type `evaluate(_:as:)` asked for.
    public static let decodingError: Self = "DecodingError"
    /// A value could not cross between Lua and Swift.
    public static let conversionError: Self = "ConversionError"
    /// `evaluate` on a host after `shutdown()`.
    public static let hostShutDown: Self = "HostShutDown"
}

extension ScriptError: LocalizedError {
    /// `code: message`, so `error.localizedDescription` is readable.
    public var errorDescription: String? { description }
}
