import Foundation

/// What the host allows a script: which models, regions, profiles and endpoints it may
/// use, how many calls may run at once, how much it may spend, and the sandbox limits.
///
/// Checked in Swift before anything is sent; a violation is a Lua error with code
/// `PolicyViolation` that names the rule. Budgets count over the host's lifetime (one
/// `quarry run`, one REPL session).
public struct HostPolicy: Sendable, Hashable {
    /// Model ids (or ARNs) scripts may call, as globs (`*` any run, `?` one character),
    /// matched without regard to case. A cross-region inference profile id matches the
    /// globs of its model too: `anthropic.*` allows `us.anthropic.claude-…` (and `eu.`,
    /// `apac.`, `global.`, … — see `inferenceProfilePrefixes`); a glob that names the
    /// prefix (`us.anthropic.*`) allows only that profile.
    public var allowedModels: [String] = ["*"]
    /// Regions `bedrock.client{region=…}` may name, as globs.
    public var allowedRegions: [String] = ["*"]
    /// Profiles `bedrock.client{profile=…}` may name, as globs over the profile name.
    /// None by default: switching profiles switches whose credentials sign (and may run
    /// a `credential_process` or an SSO exchange), so a host opens it explicitly.
    public var allowedProfiles: [String] = []
    /// Custom endpoints `bedrock.client{endpoint=…}` may name, as patterns
    /// `scheme://host-pattern[:port|:*]` matched on the parsed URL (see `EndpointPattern`:
    /// scheme and port exactly, the host label by label, `*` within one label, a leading
    /// `**` label for any number of labels). None by default: a request signed for
    /// Bedrock, or a bearer token, must not go to a server a script picks.
    public var allowedEndpoints: [String] = []
    /// S3 locations batch jobs may read and write: `bucket` (the whole bucket) or
    /// `bucket/prefix` (keys in that folder: `prefix` itself or under `prefix/`). None by
    /// default: a script must not move data to or from a bucket the host did not name.
    /// An emulator target allows any bucket while this is empty (nothing leaves the machine).
    public var allowedBuckets: [String] = []
    /// IAM role ARNs batch jobs may run as, exactly, or `*` for any. None by default (the
    /// role decides what the service may read and write); an emulator target allows any
    /// role while this is empty.
    public var allowedRoles: [String] = []
    /// Most distinct `bedrock.client{…}` settings a host keeps clients for; one more is
    /// refused with `LimitExceeded` (each client holds connection pools and credentials).
    public var maxClients: Int = 16
    /// Most Bedrock calls in flight at once; further calls wait their turn.
    public var maxConcurrentCalls: Int = 64
    /// Most Bedrock calls per host; nil for no budget.
    public var callBudget: Int?
    /// Most tokens per host: each call reserves its `maxTokens` (or `assumedMaxTokens`)
    /// before it is sent and is settled to its real input + output usage after; nil for
    /// no budget.
    public var tokenBudget: Int?
    /// The `maxTokens` assumed for budgeting when a request does not set one.
    public var assumedMaxTokens: Int = 4096
    /// The sandbox limits for each run.
    public var limits: LuaLimits = LuaLimits()

    /// Every model and region allowed (other profiles and custom endpoints are not), default
    /// limits: what `quarry` uses unless told otherwise.
    public static var permissive: HostPolicy { HostPolicy() }

    /// A policy with the given rules; unspecified ones are permissive.
    public init(
        allowedModels: [String] = ["*"], allowedRegions: [String] = ["*"], allowedProfiles: [String] = [],
        allowedEndpoints: [String] = [], allowedBuckets: [String] = [], allowedRoles: [String] = [],
        maxConcurrentCalls: Int = 64, callBudget: Int? = nil, tokenBudget: Int? = nil, limits: LuaLimits = LuaLimits()
    ) {
        self.allowedBuckets = allowedBuckets
        self.allowedRoles = allowedRoles
        self.allowedModels = allowedModels
        self.allowedRegions = allowedRegions
        self.allowedProfiles = allowedProfiles
        self.allowedEndpoints = allowedEndpoints
        self.maxConcurrentCalls = max(1, maxConcurrentCalls)
        self.callBudget = callBudget
        self.tokenBudget = tokenBudget
        self.limits = limits
    }

    /// The longest model id Bedrock accepts (`modelId`: 1–2,048 characters).
    static let maxModelIdBytes = 2048

    /// Throws `ValidationError` for a model id longer than Bedrock accepts, and
    /// `PolicyViolation` unless `model` matches an allowed glob.
    func checkModel(_ model: String) throws(ScriptError) {
        // Bedrock's limit for a model id, an inference profile id or an ARN. Checked first:
        // a longer id would be kept by every record of the call (metrics, audit, reports).
        guard model.utf8.count <= Self.maxModelIdBytes else {
            throw ScriptError(
                code: .validationError,
                message:
                    "model id is \(model.utf8.count) bytes; Bedrock accepts at most \(Self.maxModelIdBytes) "
                    + "(a model id, an inference profile id or an ARN)")
        }
        guard Self.modelAllowed(model, by: allowedModels) else {
            throw ScriptError(
                code: .policyViolation,
                message:
                    "model '\(model)' is not allowed by the host policy (allowed: \(allowedModels.joined(separator: ", ")))"
            )
        }
    }

    /// Throws `PolicyViolation` unless the client settings are all allowed; returns the
    /// endpoint in the canonical form that was checked (the client must use that form).
    func checkClient(region: String?, profile: String?, endpoint: String?) throws(ScriptError) -> String? {
        if let region, !Glob.matchesAny(allowedRegions, region) {
            throw ScriptError(
                code: .policyViolation,
                message:
                    "region '\(region)' is not allowed by the host policy (allowed: \(allowedRegions.joined(separator: ", ")))"
            )
        }
        if let profile {
            guard !profile.isEmpty, profile.utf8.count <= 128,
                profile.unicodeScalars.allSatisfy({
                    (0x21...0x7E).contains($0.value) && !"[]#;=".unicodeScalars.contains($0)
                })
            else {
                throw ScriptError(
                    code: .validationError,
                    message:
                        "bedrock.client: 'profile' must be a profile name (printable ASCII, no spaces, brackets, '#', ';' or '=')"
                )
            }
            guard Glob.matchesAny(allowedProfiles, profile) else {
                let allowed =
                    allowedProfiles.isEmpty
                    ? "none: scripts use the host's profile unless it allows others (--allow-profile / HostPolicy.allowedProfiles)"
                    : allowedProfiles.joined(separator: ", ")
                throw ScriptError(
                    code: .policyViolation,
                    message: "profile '\(profile)' is not allowed by the host policy (allowed: \(allowed))")
            }
        }
        guard let endpoint else { return nil }
        let shown = Self.printable(endpoint)
        let allowed =
            allowedEndpoints.isEmpty
            ? "none: calls go only to the target's endpoint" : allowedEndpoints.joined(separator: ", ")
        let address: EndpointAddress
        do {
            address = try EndpointAddress.parse(endpoint)
        } catch {
            throw ScriptError(
                code: .policyViolation,
                message: "endpoint '\(shown)' is not allowed by the host policy: \(error.reason) (allowed: \(allowed))")
        }
        let patterns = allowedEndpoints.compactMap { try? EndpointPattern($0) }
        guard patterns.contains(where: { $0.matches(address) }) else {
            throw ScriptError(
                code: .policyViolation,
                message: "endpoint '\(shown)' (\(address.url)) is not allowed by the host policy (allowed: \(allowed))")
        }
        return address.url
    }

    /// Checks the rules themselves: every endpoint pattern parses and every count is
    /// positive. Hosts call it before running anything, so a typo is an error, not a rule
    /// that silently matches nothing.
    public func validate() throws {
        for text in allowedEndpoints {
            do {
                _ = try EndpointPattern(text)
            } catch {
                throw ScriptError(
                    code: .configurationError,
                    message:
                        "allowed endpoint '\(Self.printable(text))' is not a pattern scheme://host[:port|:*]: \(error.reason)"
                )
            }
        }
        for text in allowedBuckets {
            do {
                _ = try BucketRule(text)
            } catch {
                throw ScriptError(code: .configurationError, message: "allowed bucket: \(error.message)")
            }
        }
        for text in allowedRoles where text != "*" {
            guard RoleARN.isValid(text) else {
                throw ScriptError(
                    code: .configurationError,
                    message:
                        "allowed role '\(Self.printable(text))' is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)"
                )
            }
        }
        guard maxClients >= 1 else {
            throw ScriptError(code: .configurationError, message: "maxClients must be at least 1, got \(maxClients)")
        }
    }

    /// The prefixes of cross-region inference profile ids (`us.anthropic.claude-…`).
    public static let inferenceProfilePrefixes = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"]

    /// Whether `model` (or, for an inference profile id, the model id after its prefix)
    /// matches one of `patterns`, case-insensitively.
    static func modelAllowed(_ model: String, by patterns: [String]) -> Bool {
        let id = model.lowercased()
        let lowered = patterns.map { $0.lowercased() }
        if Glob.matchesAny(lowered, id) { return true }
        if let dot = id.firstIndex(of: "."), inferenceProfilePrefixes.contains(String(id[..<dot])) {
            let base = String(id[id.index(after: dot)...])
            return !base.isEmpty && Glob.matchesAny(lowered, base)
        }
        return false
    }

    /// `text` with control and non-ASCII characters escaped, for error messages.
    static func printable(_ text: String) -> String {
        var out = ""
        for s in text.unicodeScalars.prefix(300) {
            if (0x20...0x7E).contains(s.value) {
                out.unicodeScalars.append(s)
            } else {
                out += "\\u{\(String(s.value, radix: 16))}"
            }
        }
        return out
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
