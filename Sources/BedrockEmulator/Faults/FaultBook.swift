import BedrockWire
import Synchronization

/// A fault rule as the emulator holds it: its id, the rule, and how often it has fired.
public typealias ActiveFault = ActiveFaultRule<FaultRule>

/// The emulator's fault rules (BedrockWire's ``FaultRule``, checked and matched by its
/// ``FaultMatcher``), behind a lock: requests match them from any event loop.
final class FaultBook: Sendable {
    private let matcher = Mutex(FaultMatcher<FaultRule, FaultEffect>(idPrefix: "fault-"))

    func add(_ rule: FaultRule) throws(FaultRuleError) -> String {
        let (condition, effects) = try rule.validated()
        let effect = try FaultRuleError.single(effects, names: "error, latency_ms, stall, reset or stream")
        return matcher.withLock { $0.add(rule, condition: condition, effect: effect) }
    }

    func remove(id: String) -> Bool { matcher.withLock { $0.remove(id: id) } }

    func clear() { matcher.withLock { $0.removeAll() } }

    var active: [ActiveFault] { matcher.withLock { $0.active() } }

    /// The effect for a request, consuming one use of the rule that fires.
    func match(operation: BedrockOperation, model: String?, resolvedModel: String?, region: String) -> FaultEffect? {
        let models = [model, resolvedModel].compactMap { $0 }
        return matcher.withLock { $0.match(operation: operation, models: models, region: region)?.effect }
    }
}
