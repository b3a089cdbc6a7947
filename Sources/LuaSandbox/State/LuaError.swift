import Foundation

/// Why running Lua failed.
public enum LuaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The chunk did not compile.
    case syntax(String)
    /// The script raised an error; `value` is the error value when it converts (e.g. a
    /// host error table `{code=..., message=...}`), `message` its readable form.
    case runtime(message: String, value: LuaValue?)
    /// A limit tripped (sticky for the run).
    case limit(LuaLimitKind, String)
    /// A value could not cross the boundary.
    case conversion(LuaConversionError)
    /// The sandbox was used wrongly or could not be created.
    case state(String)

    /// A readable description for people and logs.
    public var description: String {
        switch self {
        case .syntax(let m): return m
        case .runtime(let m, _): return m
        case .limit(_, let m): return m
        case .conversion(let e): return e.description
        case .state(let m): return m
        }
    }
}

extension LuaError: LocalizedError {
    /// The readable description, so `error.localizedDescription` says what happened
    /// (not "The operation could not be completed").
    public var errorDescription: String? { description }
}
