import Foundation

/// What the host allows a script: which models, regions, profiles and endpoints it may
/// use, how many calls may run at once, how much it may spend, and the sandbox limits.
///
/// Checked in Swift before anything is sent; a violation is a Lua error with code
/// `PolicyViolation` that names the rule. Budgets count over the host's lifetime (one
/// `quarry run`, one REPL session).
public struct HostPolicy: Sendable, Hashable {
    /// Model ids (or ARNs) scripts may call, as globs (`*` any run, `?` one character).
    public var allowedModels: [String] = ["*"]
    /// Regions `bedrock.client{region=…}` may name, as globs.
    public var allowedRegions: [String] = ["*"]
    /// Profiles `bedrock.client{profile=…}` may name, as globs.
    public var allowedProfiles: [String] = ["*"]
    /// Endpoints `bedrock.client{endpoint=…}` may name, as globs over the URL.
    public var allowedEndpoints: [String] = ["*"]
    /// Most Bedrock calls in flight at once; further calls wait their turn.
    public var maxConcurrentCalls: Int = 64
    /// Most Bedrock calls per host; nil for no budget.
    public var callBudget: Int?
    /// Most tokens per host (input + `maxTokens` reserved before sending, settled to the
    /// real usage after); nil for no budget.
    public var tokenBudget: Int?
    /// The `maxTokens` assumed for budgeting when a request does not set one.
    public var assumedMaxTokens: Int = 4096
    /// The sandbox limits for each run.
    public var limits: LuaLimits = LuaLimits()

    /// Everything allowed, default limits: what `quarry` uses unless told otherwise.
    public static var permissive: HostPolicy { HostPolicy() }

    /// A policy with the given rules; unspecified ones are permissive.
    public init(allowedModels: [String] = ["*"], allowedRegions: [String] = ["*"], allowedProfiles: [String] = ["*"],
                allowedEndpoints: [String] = ["*"], maxConcurrentCalls: Int = 64, callBudget: Int? = nil,
                tokenBudget: Int? = nil, limits: LuaLimits = LuaLimits()) {
        self.allowedModels = allowedModels
        self.allowedRegions = allowedRegions
        self.allowedProfiles = allowedProfiles
        self.allowedEndpoints = allowedEndpoints
        self.maxConcurrentCalls = max(1, maxConcurrentCalls)
        self.callBudget = callBudget
        self.tokenBudget = tokenBudget
        self.limits = limits
    }

    /// Throws `PolicyViolation` unless `model` matches an allowed glob.
    func checkModel(_ model: String) throws(ScriptError) {
        guard Glob.matchesAny(allowedModels, model) else {
            throw ScriptError(code: "PolicyViolation",
                              message: "model '\(model)' is not allowed by the host policy (allowed: \(allowedModels.joined(separator: ", ")))")
        }
    }

    /// Throws `PolicyViolation` unless the client settings are all allowed.
    func checkClient(region: String?, profile: String?, endpoint: String?) throws(ScriptError) {
        if let region, !Glob.matchesAny(allowedRegions, region) {
            throw ScriptError(code: "PolicyViolation",
                              message: "region '\(region)' is not allowed by the host policy (allowed: \(allowedRegions.joined(separator: ", ")))")
        }
        if let profile, !Glob.matchesAny(allowedProfiles, profile) {
            throw ScriptError(code: "PolicyViolation",
                              message: "profile '\(profile)' is not allowed by the host policy (allowed: \(allowedProfiles.joined(separator: ", ")))")
        }
        if let endpoint, !Glob.matchesAny(allowedEndpoints, endpoint) {
            throw ScriptError(code: "PolicyViolation",
                              message: "endpoint '\(endpoint)' is not allowed by the host policy (allowed: \(allowedEndpoints.joined(separator: ", ")))")
        }
    }
}

/// Shell-style globs: `*` matches any run of characters, `?` one character.
enum Glob {
    static func matchesAny(_ patterns: [String], _ text: String) -> Bool {
        patterns.contains { matches($0, text) }
    }

    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
