import Foundation
import Synchronization

/// Settings for one `evaluate`/`events(for:)`: limits and a budget for this run alone,
/// on top of the host's policy.
///
/// ```swift
/// var settings = RunSettings(tokenBudget: 2_000)
/// settings.limits = LuaLimits(seconds: 5)
/// let answer = try await host.evaluate(script, as: Answer.self, settings: settings)
/// ```
public struct RunSettings: Sendable {
    /// The sandbox limits for this run; nil uses the policy's (`HostPolicy.limits`).
    public var limits: LuaLimits?
    /// A budget this run's calls are charged against, besides the host's own budgets:
    /// a fresh ``TokenBudget`` for a per-run cap, or one shared by several runs or hosts.
    public var budget: TokenBudget?
    /// The run's id, carried by every ``CallRecord`` and ``PendingCall`` of the run; nil
    /// makes a fresh UUID.
    public var runId: String?

    /// Settings with the given parts; nothing set means the host's defaults.
    public init(limits: LuaLimits? = nil, budget: TokenBudget? = nil, runId: String? = nil) {
        self.limits = limits
        self.budget = budget
        self.runId = runId
    }

    /// Settings with a budget of `tokenBudget` tokens (and `callBudget` calls) for this run alone.
    public init(tokenBudget: Int?, callBudget: Int? = nil, limits: LuaLimits? = nil, runId: String? = nil) {
        self.init(limits: limits, budget: TokenBudget(tokens: tokenBudget, calls: callBudget), runId: runId)
    }
}

/// A token (and call) budget that runs and hosts share: pass the same instance in
/// `QuarryHost.Options.budget` of several hosts, or in ``RunSettings/budget`` of several
/// runs. Each call reserves its estimated input plus its `maxTokens` before it is sent
/// and is settled to the real usage after, exactly like `HostPolicy.tokenBudget`; a call
/// that would pass the budget is refused with `PolicyViolation`.
public final class TokenBudget: @unchecked Sendable {
    /// The most tokens, or nil for no token limit.
    public let tokenLimit: Int?
    /// The most calls, or nil for no call limit.
    public let callLimit: Int?
    private let lock = Mutex(())
    private var committed = 0
    private var reserved = 0
    private var calls = 0

    /// A budget of `tokens` tokens and `calls` calls (nil: no limit on that count).
    /// Negative limits are treated as zero.
    public init(tokens: Int?, calls: Int? = nil) {
        self.tokenLimit = tokens.map { max(0, $0) }
        self.callLimit = calls.map { max(0, $0) }
    }

    /// What has been used and reserved so far.
    public var usage: BudgetUsage {
        lock.withLock { _ in
            BudgetUsage(
                callsUsed: calls, tokensUsed: committed, tokensReserved: reserved,
                callBudget: callLimit, tokenBudget: tokenLimit)
        }
    }

    /// Reserves `tokens` and one call, or throws `PolicyViolation` naming this budget.
    func reserve(_ tokens: Int, name: String) throws(ScriptError) {
        try lock.withLock { _ throws(ScriptError) in
            if let limit = callLimit, calls >= limit {
                throw ScriptError(
                    code: .policyViolation, message: "the \(name) call budget of \(limit) calls is used up")
            }
            let (used, overflow) = committed.addingReportingOverflow(reserved)
            if let limit = tokenLimit {
                guard !overflow, used <= limit, tokens <= limit - used else {
                    throw ScriptError(
                        code: .policyViolation,
                        message:
                            "the \(name) token budget of \(limit) would be exceeded: \(used) used or reserved, this call may use \(tokens)"
                    )
                }
            }
            calls += 1
            // Sums saturate: without a token limit nothing bounds them (a limit bounds them
            // by itself).
            let (sum, full) = reserved.addingReportingOverflow(max(0, tokens))
            reserved = full ? Int.max : sum
        }
    }

    /// Undoes a reservation that another budget refused (the call was not made).
    func refund(_ tokens: Int) {
        lock.withLock { _ in
            reserved = max(0, reserved - max(0, tokens))
            calls = max(0, calls - 1)
        }
    }

    /// Replaces a reservation of `tokens` by `used`.
    func settle(reserved tokens: Int, used: Int) {
        lock.withLock { _ in
            reserved = max(0, reserved - max(0, tokens))
            let (sum, overflow) = committed.addingReportingOverflow(max(0, used))
            committed = overflow ? Int.max : sum
        }
    }
}

/// What a budget has used and what it allows: `QuarryHost.budget`, `TokenBudget.usage`.
public struct BudgetUsage: Sendable, Hashable {
    /// Calls made (refused ones not counted).
    public var callsUsed: Int
    /// Tokens charged for finished calls.
    public var tokensUsed: Int
    /// Tokens reserved by calls in flight.
    public var tokensReserved: Int
    /// The call limit, if any.
    public var callBudget: Int?
    /// The token limit, if any.
    public var tokenBudget: Int?

    /// A report from its parts.
    public init(callsUsed: Int, tokensUsed: Int, tokensReserved: Int, callBudget: Int?, tokenBudget: Int?) {
        self.callsUsed = callsUsed
        self.tokensUsed = tokensUsed
        self.tokensReserved = tokensReserved
        self.callBudget = callBudget
        self.tokenBudget = tokenBudget
    }

    /// Tokens the budget still allows (nil without a token limit).
    public var tokensLeft: Int? {
        tokenBudget.map { limit in
            let (spent, overflow) = tokensUsed.addingReportingOverflow(tokensReserved)
            return overflow || spent >= limit ? 0 : limit - spent
        }
    }

    /// The Lua table `bedrock.budget()` returns (`calls_used`, `tokens_used`, …).
    public var luaValue: LuaValue {
        var m: [String: LuaValue] = [
            "calls_used": .integer(Int64(callsUsed)), "tokens_used": .integer(Int64(tokensUsed)),
            "tokens_reserved": .integer(Int64(tokensReserved)),
        ]
        if let callBudget { m["call_budget"] = .integer(Int64(callBudget)) }
        if let tokenBudget { m["token_budget"] = .integer(Int64(tokenBudget)) }
        return .map(m)
    }
}

/// A Bedrock call a script is about to make, as the `willCall` hook sees it.
public struct PendingCall: Sendable, Hashable {
    /// The operation (`Converse`, `ConverseStream`, `InvokeModel`, …).
    public var operation: String
    /// The model id, when the operation has one.
    public var model: String?
    /// The region the call would go to.
    public var region: String
    /// The run making it (``RunSettings/runId``).
    public var runId: String?
}

/// What a `willCall` hook decides.
public enum CallDecision: Sendable, Hashable {
    /// The call goes ahead (to the policy's budgets next).
    case allow
    /// The call is refused: the script gets a `PolicyViolation` error whose message is
    /// `reason` (and whose `reason` field holds it alone). Nothing is sent.
    case refuse(reason: String)
}

/// The token an observer was added with, for `removeCallObserver`.
public struct CallObserverToken: Sendable, Hashable {
    let id: Int
}

/// What happens in a run, in order, for a UI: what the script prints, each Bedrock
/// call's start, the model's text, reasoning and tool uses as they stream, status
/// changes, each call's end, and finally the script's values.
public enum RunEvent: Sendable {
    /// Text the script printed (`print`, `write`).
    case output(String)
    /// A Bedrock call was sent.
    case callStarted(operation: String, model: String?)
    /// Model text: each streamed piece, or a whole non-streamed answer.
    case text(String)
    /// Model reasoning text, as it streams (or whole).
    case reasoning(String)
    /// The model asked for a tool, with its complete input (JSON text).
    case toolUse(id: String, name: String, input: String)
    /// A status change of a call: `stop: end_turn`, `restarted: attempt 2 (…)`.
    case status(String)
    /// A Bedrock call ended (success or failure), as observers see it.
    case callEnded(CallRecord)
    /// The run ended with these values (the last event).
    case finished([LuaValue])
}
