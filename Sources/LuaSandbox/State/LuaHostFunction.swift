import CLua

/// A Swift function scripts can call. It runs on the Lua thread inside a C trampoline:
/// it returns a `LuaHostResult` and never raises into Lua itself.
public typealias LuaHostFunction = (LuaHostCall) -> LuaHostResult

/// What a host function answers.
public enum LuaHostResult: Sendable {
    /// Return these values to the script.
    case values([LuaValue])
    /// Raise this value as a Lua error (e.g. `.tagged(metatable: "quarry.error", .map(...))`).
    case error(LuaValue)
    /// Suspend the calling coroutine; the scheduler receives `request` from
    /// `LuaState.resume` as `.suspended` and later resumes the coroutine with results.
    case suspend(any Sendable)

    /// Raise a plain string error.
    public static func failure(_ message: String) -> LuaHostResult { .error(.string(message)) }
}

/// One call of a host function: its arguments and its context.
public struct LuaHostCall {
    /// The state (for creating coroutines, defining handles, ...).
    public unowned let state: LuaState
    /// The name the function was registered under (for error messages).
    public let name: String
    /// The arguments, converted with the state's argument limits (functions arrive as
    /// `.function(.lua)` references released after the call unless retained).
    public let arguments: [LuaValue]
    /// Whether the caller can be suspended (false inside metamethods, sort comparators,
    /// gsub callbacks).
    public let canSuspend: Bool
    let retained: RetainedReferences
    /// The calling coroutine (for `callerLocation`).
    var thread: OpaquePointer? = nil

    /// Keeps a function reference alive after the call (release it with `LuaState.release`).
    public func retain(_ function: LuaFunctionReference) {
        if case .lua(let ref) = function { retained.refs.insert(ref) }
    }

    /// Argument `i` (1-based), or `.nil` when absent.
    public func argument(_ i: Int) -> LuaValue {
        i >= 1 && i <= arguments.count ? arguments[i - 1] : .nil
    }
}

final class RetainedReferences {
    var refs: Set<Int32> = []
}
