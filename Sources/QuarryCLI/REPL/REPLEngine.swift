import LuaSandbox

/// What the REPL needs from the Lua host: the one seam between the REPL and the host.
///
/// Everything the REPL evaluates (user input, completion queries, the model list) goes
/// through `evaluate`, so the REPL works the same over any host that runs chunks in a
/// persistent state.
protocol REPLEngine: Sendable {
    /// Runs a chunk in the session's persistent state and returns its values.
    func evaluate(_ source: String, name: String) async throws -> [LuaValue]
    /// Cancels the running evaluation (pending calls cancelled, Lua interrupted). Safe
    /// from any thread; a no-op when nothing runs.
    func cancel()
    /// The string keys at a dotted path (`""` = globals), for tab completion.
    func completions(atPath path: String) async -> [String]
    /// The model ids the target serves (empty when there is no Bedrock target).
    func modelIDs() async -> [String]
    /// One line saying where calls go (the banner and `:target` show it); never a secret.
    var targetDescription: String { get }
    /// The limits each evaluation runs under.
    var limits: LuaLimits { get }
    /// Changes the limits for the following evaluations.
    func setLimits(_ limits: LuaLimits) async throws
    /// The model used by calls that name none (`:use`), if any.
    var defaultModel: String? { get }
    /// Sets the default model.
    func setDefaultModel(_ model: String?) async throws
    /// Frees the state and stops what the target started.
    func shutdown() async
}

/// The limits an interactive session runs each input under.
///
/// Ctrl-C is the main brake in a REPL, so the per-input budget is wider than a script's:
/// about a minute of plain Lua (10 billion budget units) and a 10-minute wall clock,
/// with the script defaults for memory, output and host calls. `:limits` changes them.
enum REPLDefaults {
    static var limits: LuaLimits {
        LuaLimits(instructions: 10_000_000_000, seconds: 600)
    }
}

/// A session over a bare `LuaSandbox`: the standard library only, no Bedrock target.
///
/// Used when the host is unavailable; the REPL's features that do not need Bedrock
/// (evaluation, printing, completion, history, Ctrl-C) are the same.
final class SandboxEngine: REPLEngine {
    private let sandbox: LuaSandbox
    private let settings: Locked<(limits: LuaLimits, model: String?)>

    init(output: @escaping @Sendable (String) -> Void, limits: LuaLimits = REPLDefaults.limits) async throws {
        sandbox = try await LuaSandbox(limits: limits, output: output)
        settings = Locked((limits, nil))
    }

    func evaluate(_ source: String, name: String) async throws -> [LuaValue] {
        try await sandbox.run(source, name: name, limits: settings.current.limits)
    }

    func cancel() { sandbox.interrupt() }

    func completions(atPath path: String) async -> [String] {
        (try? await sandbox.keys(atPath: path)) ?? []
    }

    func modelIDs() async -> [String] { [] }

    var targetDescription: String { "no Bedrock target (Lua sandbox only)" }

    var limits: LuaLimits { settings.current.limits }

    func setLimits(_ limits: LuaLimits) async throws { settings.withLock { $0.limits = limits } }

    var defaultModel: String? { settings.current.model }

    func setDefaultModel(_ model: String?) async throws { settings.withLock { $0.model = model } }

    func shutdown() async {}
}
