/// The `resilience` Lua module: retry, timeout, circuit breaker, fallback, hedge, rate
/// limit and bulkhead policies, composable as a pipeline (in the spirit of Polly and
/// resilience4j). Written in Lua on the host's `sleep`, `now`, `parallel`, `pcall` and
/// `bedrock.client`, so each works around any function, Bedrock calls included.
///
/// Every policy is a callable table: `policy(fn, ...)` runs `fn(...)` under the policy,
/// `policy.wrap(fn)` returns the guarded function, `policy.stats()` reports what it did.
/// `resilience.pipeline{outer, …, inner}` composes them, the first outermost.
///
/// `timeout` and `hedge` are built on `race`: `timeout` races the function against a
/// timer and cancels it (its pending Bedrock call and sleeps too) when the timer wins,
/// handing it a budget whose seconds a Bedrock call's `timeout=` can take; `hedge`
/// starts a backup attempt after `delay`, returns the first to succeed and cancels the
/// other.
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
