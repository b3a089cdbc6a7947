/// A value that crosses the Swift ⇄ Lua boundary.
///
/// Tables become `.array` (keys exactly 1...n) or `.map` (string keys); anything else is
/// a conversion error naming the path of the bad value (`messages[2].content`).
public enum LuaValue: Sendable, Hashable {
    /// Lua `nil`.
    case `nil`
    /// The sandbox's null sentinel (a locked userdata whose `tostring` is `null`), for JSON.
    case null
    /// A boolean.
    case boolean(Bool)
    /// A Lua integer.
    case integer(Int64)
    /// A Lua float.
    case number(Double)
    /// A Lua string that is valid UTF-8.
    case string(String)
    /// A Lua string that is not valid UTF-8 (strings are bytes in Lua).
    case bytes([UInt8])
    /// A table whose keys are exactly 1...n, n ≥ 1.
    case array([LuaValue])
    /// A table whose keys are all strings (an empty table is an empty map).
    case map([String: LuaValue])
    /// A table with a metatable the host defined with `LuaState.defineMetatable` (Swift → Lua only).
    indirect case tagged(metatable: String, LuaValue)
    /// A function: a host function, or a Lua function held in the registry.
    case function(LuaFunctionReference)
    /// An opaque host handle.
    case handle(LuaHandle)
    /// A sequence whose items were encoded ahead of time with `LuaListWriter` (Swift →
    /// Lua only): a stream's events are encoded as they arrive, off the Lua thread, and
    /// cross in one piece. An empty list becomes an empty table.
    case encodedList(LuaEncodedList)

    /// The value as a Swift string if it is a Lua string.
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// The field `key` if this is a map.
    public subscript(key: String) -> LuaValue? {
        if case .map(let m) = self { return m[key] }
        return nil
    }
}

/// A function value: a host function (by id) or a Lua function kept in the registry
/// until released (see `LuaHostCall.retain` and `LuaState.release`).
public enum LuaFunctionReference: Sendable, Hashable {
    /// A host function registered with `LuaState.register`.
    case host(id: Int64, name: String)
    /// A Lua function stored in the registry under `ref`.
    case lua(ref: Int32)
}

/// An opaque handle to a host object: a full userdata with a locked metatable, an
/// allow-listed set of methods, and a `tostring` like `BedrockClient<us-east-1>`.
public struct LuaHandle: Sendable, Hashable {
    /// The handle type's name (`BedrockClient`).
    public let typeName: String
    /// The id the state keeps the host object under.
    public let id: Int64
    /// The label shown by `tostring` (no address, nothing secret).
    public let label: String
}

/// A value that could not cross the boundary, with the path of the bad part.
public struct LuaConversionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the bad value is, e.g. `messages[2].content`.
    public let path: String
    /// What is wrong with it.
    public let problem: String
    /// The sandbox limit the conversion ran into (`.memory` for the crossing budget), if any.
    public let limit: LuaLimitKind?
    /// The bytes the crossing was allowed, when it ran out of them.
    var crossingBudget: Int? = nil
    /// A conversion error for the value at `path`.
    public init(path: String, problem: String, limit: LuaLimitKind? = nil) {
        self.path = path
        self.problem = problem
        self.limit = limit
    }

    /// The error for a crossing that needs more than `budget` bytes (the state words
    /// it with its cap, `LuaLimits.memoryCapMessage`, when it trips).
    static func budget(path: String, _ budget: Int) -> LuaConversionError {
        var error = LuaConversionError(
            path: path, problem: "sandbox limit: memory cap reached (\(crossingDetail(budget)))", limit: .memory)
        error.crossingBudget = budget
        return error
    }

    /// What a crossing over its budget needed.
    static func crossingDetail(_ budget: Int) -> String {
        "the values crossing between Lua and the host need more than the \(budget) bytes left under it"
    }

    /// `path: problem`.
    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
}

/// How far conversion may go: nesting depth, total elements, string size, functions.
public struct LuaConversionLimits: Sendable, Hashable {
    /// Deepest nesting of tables.
    public var maxDepth: Int = 32
    /// Most table elements in one value, counted over all nesting.
    public var maxItems: Int = 100_000
    /// Longest single string in bytes.
    public var maxStringBytes: Int = 16 << 20
    /// Whether NaN and infinities are refused (when JSON is the target).
    public var requireFinite: Bool = false
    /// Whether Lua functions become `.function(.lua)` references instead of an error.
    public var allowFunctions: Bool = false
    /// Most bytes one crossing may carry, counted per reference (a string held twice
    /// counts twice, though it is copied once) plus a small charge per table element.
    /// The state sets it to what is left under the memory cap for every crossing.
    public var maxTotalBytes: Int = Int.max
    /// Whether a table that is not a string-keyed map nor an array 1...n (a sparse array,
    /// or string and integer keys mixed) becomes a `.map` whose integer keys are written
    /// as decimal strings (`"2"`), instead of an error. For values going to the app
    /// (results, error values), where losing the value is worse than its shape changing.
    public var keepSparseTables: Bool = false
    /// Whether a value that cannot cross (a function when `allowFunctions` is off, a
    /// userdata) becomes a placeholder string (`"<function>"`) instead of an error.
    public var placeholders: Bool = false

    /// The defaults: depth 32, 100 000 elements, 16 MiB strings, no functions.
    public init() {}
}

enum PathComponent {
    static func append(_ path: String, key: String) -> String {
        let isIdentifier =
            key.first.map { $0 == "_" || $0.isLetter } == true
            && key.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        if isIdentifier { return path.isEmpty ? key : "\(path).\(key)" }
        return "\(path)[\"\(key)\"]"
    }

    static func append(_ path: String, index: Int) -> String { "\(path)[\(index)]" }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral
{
    /// A string literal is a Lua string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal is a Lua integer.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// A boolean literal is a Lua boolean.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    /// A float literal is a Lua float.
    public init(floatLiteral value: Double) { self = .number(value) }
}
