import BedrockWire
import Foundation
import Synchronization

/// A fault rule as the emulator holds it: its id, the rule, and how often it has fired.
public struct ActiveFault: Sendable, Codable, Equatable {
    /// The id the rule was given when added.
    public let id: String
    /// The rule as added.
    public let rule: FaultRule
    /// How many requests it has hit so far.
    public var hits: Int
}

/// The set of fault rules; matched in the order they were added, first hit wins.
final class FaultBook: Sendable {
    private struct Entry {
        var fault: ActiveFault
        var effect: FaultEffect
        var expiry: Date?
        var generator: SeededGenerator
    }

    private let entries = Mutex<[Entry]>([])
    private let counter = Mutex<Int>(0)

    func add(_ rule: FaultRule) throws(FaultRuleError) -> String {
        let effect = try rule.effect()
        let id = counter.withLock { value -> String in
            value += 1
            return "fault-\(value)"
        }
        let entry = Entry(fault: ActiveFault(id: id, rule: rule, hits: 0), effect: effect,
                          expiry: rule.seconds.map { Date().addingTimeInterval($0) },
                          generator: SeededGenerator(seed: rule.seed ?? StableHash.of(id)))
        entries.withLock { $0.append(entry) }
        return id
    }

    func remove(id: String) -> Bool {
        entries.withLock { list in
            let before = list.count
            list.removeAll { $0.fault.id == id }
            return list.count != before
        }
    }

    func clear() { entries.withLock { $0.removeAll() } }

    var active: [ActiveFault] {
        let now = Date()
        return entries.withLock { list in
            list.removeAll { $0.expiry.map { $0 <= now } ?? false }
            return list.map(\.fault)
        }
    }

    /// The effect for a request, consuming one use of the rule that fires.
    func match(operation: EmulatedOperation, model: String?, resolvedModel: String?, region: String) -> FaultEffect? {
        let now = Date()
        return entries.withLock { list -> FaultEffect? in
            list.removeAll { $0.expiry.map { $0 <= now } ?? false }
            for index in list.indices {
                let rule = list[index].fault.rule
                if let wanted = rule.operation, wanted != operation.rawValue { continue }
                if let wanted = rule.model, wanted != model, wanted != resolvedModel { continue }
                if let wanted = rule.region, wanted != region { continue }
                if case .stream = list[index].effect, !operation.isStreaming { continue }
                if let probability = rule.probability, probability < 1 {
                    if list[index].generator.nextUnit() >= probability { continue }
                }
                list[index].fault.hits += 1
                let effect = list[index].effect
                if let times = rule.times, list[index].fault.hits >= times { list.remove(at: index) }
                return effect
            }
            return nil
        }
    }
}
