import CLuaShim

/// The limits one run of a script is held to. The host sets them per run; every one is
/// enforced in the sandbox's C core and exceeding any gives a clear Lua error that
/// `pcall`, `xpcall` handlers and `__close` cannot swallow (the trip is sticky).
///
/// Defaults (chosen so an honest workflow never meets them while a runaway script
/// stops within a few seconds):
/// - `memoryBytes`: 64 MiB held by the state (allocator cap).
/// - `instructions`: 200 million budget units (one per VM instruction, one per call,
///   1000 per coroutine created), shared by every coroutine of the run — about 1–2 s
///   of plain Lua on this machine.
/// - `seconds`: a 30 s wall-clock deadline, checked by the hooks.
/// - `outputBytes`: 1 MiB of `print`/`warn` output per run.
/// - `hostCalls`: 10 000 calls of host functions per run.
/// - `rangeItems`: 5 million elements for one `table.concat/unpack/move/insert/remove/sort`
///   or `string.rep` with a short string.
/// - `patternCost`: 1e8 matching steps for one `string.find/match/gmatch/gsub` call
///   (the sandbox's own matcher counts every step as it runs and charges it to the
///   instruction budget; 1e8 steps take about half a second here). Linear scans such
///   as `(%w+)` over long texts pass; backtracking such as `a.-b` or `a*$` over a long
///   subject that does not match stops with "pattern too costly".
/// - `loadSourceBytes`: 1 MiB of source for the script's own `load`.
/// - `closeDepth`: 10 nested `coroutine.close` calls (Lua 5.4.4 crashes on long chains).
public struct LuaLimits: Sendable, Hashable {
    /// Bytes the Lua state may hold; an allocation past it fails as "not enough memory".
    public var memoryBytes: Int = 64 << 20
    /// Budget units for the run, shared by all coroutines.
    public var instructions: Int64 = 200_000_000
    /// Wall-clock seconds from the start of the run; zero or less means no deadline.
    public var seconds: Double = 30
    /// Bytes scripts may print per run.
    public var outputBytes: Int = 1 << 20
    /// Calls of host functions per run.
    public var hostCalls: Int64 = 10_000
    /// Largest element range one table function (or `string.rep` count) may cover.
    public var rangeItems: Int64 = 5_000_000
    /// Most matching steps one pattern-matching call may take.
    public var patternCost: Double = 1e8
    /// Largest source `load` accepts from a script.
    public var loadSourceBytes: Int = 1 << 20
    /// Deepest nesting of `coroutine.close`.
    public var closeDepth: Int = 10
    /// Seconds the Lua thread gets past the deadline (or an interrupt) to stop. A C call
    /// that never reaches a hook check cannot be stopped from outside; after this grace
    /// the host stops waiting for it, fails the run with `LuaLimitKind.unresponsive`
    /// and marks the sandbox unusable (the `quarry` command then exits with code 3).
    public var graceSeconds: Double = 2

    /// The documented defaults.
    public init() {}

    /// The defaults with the given overrides.
    public init(
        memoryBytes: Int? = nil, instructions: Int64? = nil, seconds: Double? = nil,
        outputBytes: Int? = nil, hostCalls: Int64? = nil
    ) {
        if let memoryBytes { self.memoryBytes = memoryBytes }
        if let instructions { self.instructions = instructions }
        if let seconds { self.seconds = seconds }
        if let outputBytes { self.outputBytes = outputBytes }
        if let hostCalls { self.hostCalls = hostCalls }
    }

    var cValue: quarry_limits {
        quarry_limits(
            memory_bytes: max(memoryBytes, 0), instructions: instructions,
            seconds: seconds, output_bytes: max(outputBytes, 0), host_calls: hostCalls,
            range_items: rangeItems, pattern_cost: patternCost,
            load_source_bytes: max(loadSourceBytes, 0), close_depth: Int32(clamping: closeDepth))
    }
}

extension LuaLimits {
    /// The one wording of the memory limit, whatever reached it (the allocator,
    /// `string.rep`, a crossing, requests in flight, `stdin.read`):
    /// `sandbox limit: memory cap of N bytes reached (what needed more)`.
    public static func memoryCapMessage(_ cap: Int, _ detail: String) -> String {
        "sandbox limit: memory cap of \(cap) bytes reached (\(detail))"
    }
}

/// Which limit stopped a run.
public enum LuaLimitKind: String, Sendable, Hashable {
    case instructions, deadline, memory, output, hostCalls, interrupted
    /// The script did not stop within the grace period after its deadline or an
    /// interrupt (stuck in one C call); the sandbox can no longer be used.
    case unresponsive

    init?(trip: Int32) {
        switch UInt32(trip) {
        case QUARRY_TRIP_INSTRUCTIONS.rawValue: self = .instructions
        case QUARRY_TRIP_DEADLINE.rawValue: self = .deadline
        case QUARRY_TRIP_MEMORY.rawValue: self = .memory
        case QUARRY_TRIP_OUTPUT.rawValue: self = .output
        case QUARRY_TRIP_HOST_CALLS.rawValue: self = .hostCalls
        case QUARRY_TRIP_INTERRUPTED.rawValue: self = .interrupted
        default: return nil
        }
    }
}

/// What one run used, and the limit that stopped it if any.
public struct LuaRunReport: Sendable, Hashable {
    /// The limit that tripped (sticky: set even if the script caught the error).
    public var trippedLimit: LuaLimitKind?
    /// The trip's message, as the script saw it.
    public var tripMessage: String?
    /// Budget units used.
    public var instructionsUsed: Int64
    /// Highest number of bytes the state held during the run.
    public var peakMemoryBytes: Int
    /// Host function calls made.
    public var hostCalls: Int64
}
