/// The `resilience` Lua module: retry, timeout, circuit breaker, fallback, hedge, rate
/// limit and bulkhead policies, composable as a pipeline (in the spirit of Polly and
/// resilience4j). Written in Lua on the host's `sleep`, `now`, `parallel`, `pcall` and
/// `bedrock.client`, so each works around any function, Bedrock calls included.
///
/// Every policy is a callable table: `policy(fn, ...)` runs `fn(...)` under the policy,
/// `policy.wrap(fn)` returns the guarded function, `policy.stats()` reports what it did.
/// `resilience.pipeline{outer, …, inner}` composes them, the first outermost.
///
/// The host cannot interrupt a running Lua branch, so `timeout` and `hedge` are
/// cooperative: `timeout` hands the function its remaining seconds (pass them to the
/// Bedrock call's `timeout=` so the client enforces the deadline on the wire) and fails
/// once the deadline has passed; `hedge` starts a backup attempt after `delay` and
/// returns the first to succeed, after both have settled.
public struct ResilienceModule: QuarryModule {
    /// The module.
    public init() {}

    /// Loads the `resilience` table into `host`.
    public func install(into host: QuarryHost) async throws {
        try await host.load(module: Self.source, name: "=[quarry resilience]")
        try await host.freezeGlobal("resilience")
    }

    /// The source, from `resilience.lua` beside this file, embedded at build time.
    static let source = String(decoding: PackageResources.resilience_lua, as: UTF8.self)
}
