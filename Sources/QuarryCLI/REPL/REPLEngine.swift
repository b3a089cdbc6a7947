import Foundation
import Quarry

/// What the REPL needs from the Lua host: the one seam between the REPL and the host.
///
/// The session, its commands and the completer talk to the host only through this
/// protocol; `HostEngine` implements it over `QuarryHost`, and `:reset`, `:limits` and
/// target changes swap one engine for a fresh one.
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
    /// Budget units per input unless `--max-instructions` says otherwise.
    static let instructions: Int64 = 10_000_000_000
    /// Wall-clock seconds per input unless `--max-seconds` says otherwise.
    static let seconds: Double = 600
}

/// A session over a `QuarryHost`: the Bedrock API, the policy, the target.
final class HostEngine: REPLEngine {
    private let host: QuarryHost
    private let target: QuarryTarget

    /// Resolves the target and makes a host for `settings`; `output` receives the exact
    /// bytes scripts print and write, and every finished Bedrock call is reported to `onCall`.
    init(
        options: HostOptions, output: @escaping @Sendable ([UInt8]) -> Void,
        onCall: @escaping @Sendable (CallRecord) -> Void
    ) async throws {
        target = try await options.resolveTarget()
        do {
            host = try await options.makeHost(target: target, output: output, isolation: .session)
        } catch {
            await target.shutdown()
            throw error
        }
        host.addCallObserver(onCall)
    }

    func evaluate(_ source: String, name: String) async throws -> [LuaValue] {
        try await host.evaluate(source, name: name)
    }

    func cancel() { host.cancel() }

    func completions(atPath path: String) async -> [String] { await host.completions(atPath: path) }

    func modelIDs() async -> [String] {
        let models = (try? await target.models()) ?? []
        return models.map(\.id).filter { !$0.isEmpty }.sorted()
    }

    var targetDescription: String { target.description }

    var limits: LuaLimits { host.policy.limits }

    var defaultModel: String? { host.defaultModel }

    func setDefaultModel(_ model: String?) async throws {
        host.defaultModel = model
    }

    func shutdown() async {
        await host.shutdown()
        await target.shutdown()
    }
}
