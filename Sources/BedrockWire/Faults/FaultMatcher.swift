/// When a checked fault rule fires: the typed match part of a ``FaultRule``.
public struct FaultCondition: Sendable, Equatable {
    /// The operation to match; `nil` matches every operation.
    public var operation: BedrockOperation?
    /// The model id to match (any of the request's names for its model).
    public var model: String?
    /// The region to match.
    public var region: String?
    /// Chance in 0...1 that a matching request is hit (`nil`: always).
    public var probability: Double?
    /// Seed for the probability draws (`nil`: derived from the rule's id).
    public var seed: UInt64?
    /// How many requests the rule hits before it expires (`nil`: no limit).
    public var times: Int?
    /// How long the rule lives, from when it is added (`nil`: until removed).
    public var lifetime: Duration?
    /// Only streaming operations match (the rule's effect is a stream fault).
    public var streamingOnly = false

    /// A condition from its parts.
    public init(
        operation: BedrockOperation? = nil, model: String? = nil, region: String? = nil,
        probability: Double? = nil, seed: UInt64? = nil, times: Int? = nil, lifetime: Duration? = nil,
        streamingOnly: Bool = false
    ) {
        self.operation = operation; self.model = model; self.region = region; self.probability = probability
        self.seed = seed; self.times = times; self.lifetime = lifetime; self.streamingOnly = streamingOnly
    }

    /// Whether a request for `operation` on a model named any of `models`, in `region`,
    /// matches (before the probability draw).
    public func matches(operation: BedrockOperation?, models: [String], region: String?) -> Bool {
        if let wanted = self.operation, wanted != operation { return false }
        if let wanted = model, !models.contains(wanted) { return false }
        if let wanted = self.region, wanted != region { return false }
        if streamingOnly, operation?.isStreaming != true { return false }
        return true
    }
}

/// A rule in force: its id, the rule as added, and how often it has fired.
public struct ActiveFaultRule<Rule: Sendable>: Sendable {
    /// The id the rule was given when added (`fault-N`, `client-fault-N`).
    public let id: String
    /// The rule as added.
    public let rule: Rule
    /// How many requests it has hit so far.
    public var hits: Int

    /// A record from its parts.
    public init(id: String, rule: Rule, hits: Int) { self.id = id; self.rule = rule; self.hits = hits }
}

extension ActiveFaultRule: Equatable where Rule: Equatable {}
extension ActiveFaultRule: Codable where Rule: Codable {}

/// The fault rules in force, matched in the order they were added, first hit wins:
/// ids, lifetimes, hit counts and seeded probability draws, shared by the emulator's
/// fault book and the client's injector. A value: its owner guards it with its lock.
public struct FaultMatcher<Rule: Sendable, Effect: Sendable>: Sendable {
    private struct Entry: Sendable {
        var active: ActiveFaultRule<Rule>
        var condition: FaultCondition
        var effect: Effect
        var expiry: ContinuousClock.Instant?
        var generator: SeededGenerator
    }

    private var entries: [Entry] = []
    private var added = 0
    /// The prefix of every id, e.g. `fault-`.
    public let idPrefix: String

    /// A matcher with no rules whose ids start with `idPrefix`.
    public init(idPrefix: String) { self.idPrefix = idPrefix }

    /// Whether no rule is in force (expired ones may still count until the next look).
    public var isEmpty: Bool { entries.isEmpty }

    /// Adds a checked rule and returns its new id.
    public mutating func add(
        _ rule: Rule, condition: FaultCondition, effect: Effect,
        now: ContinuousClock.Instant = .now
    ) -> String {
        added += 1
        let id = "\(idPrefix)\(added)"
        entries.append(
            Entry(
                active: ActiveFaultRule(id: id, rule: rule, hits: 0), condition: condition, effect: effect,
                expiry: condition.lifetime.map { now + $0 },
                generator: SeededGenerator(seed: condition.seed ?? StableHash.of(id))))
        return id
    }

    /// Removes one rule; false when no rule has that id.
    public mutating func remove(id: String) -> Bool {
        let before = entries.count
        entries.removeAll { $0.active.id == id }
        return entries.count != before
    }

    /// Removes every rule.
    public mutating func removeAll() { entries.removeAll() }

    /// The rules still in force, with their hit counts.
    public mutating func active(now: ContinuousClock.Instant = .now) -> [ActiveFaultRule<Rule>] {
        expire(now)
        return entries.map(\.active)
    }

    /// The first rule that hits a request, consuming one of its uses: its id and effect.
    public mutating func match(
        operation: BedrockOperation?, models: [String], region: String?,
        now: ContinuousClock.Instant = .now
    ) -> (id: String, effect: Effect)? {
        expire(now)
        for index in entries.indices {
            let condition = entries[index].condition
            guard condition.matches(operation: operation, models: models, region: region) else { continue }
            if let probability = condition.probability, probability < 1,
                entries[index].generator.nextUnit() >= probability
            {
                continue
            }
            entries[index].active.hits += 1
            let hit = (entries[index].active.id, entries[index].effect)
            if let times = condition.times, entries[index].active.hits >= times { entries.remove(at: index) }
            return hit
        }
        return nil
    }

    private mutating func expire(_ now: ContinuousClock.Instant) {
        entries.removeAll { $0.expiry.map { $0 <= now } ?? false }
    }
}
