import BedrockWire
import Testing

@testable import BedrockEmulator

@Suite("Fault rules")
struct FaultRuleTests {
    @Test(
        "rules need exactly one valid effect",
        arguments: [
            (FaultRule(operation: "Converse"), "needs one effect"),
            (FaultRule(error: "ThrottlingException", stall: true), "exactly one effect"),
            (FaultRule(operation: "Conversation", error: "ThrottlingException"), "unknown operation"),
            (FaultRule(error: "Boom"), "unknown error"),
            (FaultRule(probability: 2, reset: true), "probability"),
            (FaultRule(times: 0, reset: true), "times"),
            (FaultRule(stream: "explode"), "unknown stream fault"),
            (FaultRule(stream: "drip"), "drip_ms"),
            (FaultRule(retryAfterMs: 5, reset: true), "retry_after_ms"),
            (FaultRule(stream: "truncate", exception: "throttlingException"), "exception only applies"),
            (FaultRule(stream: "close", dripMs: 5), "drip_ms only applies"),
            (FaultRule(operation: "Converse", stream: "close"), "streaming operations"),
        ])
    func invalid(rule: FaultRule, message: String) {
        #expect(throws: FaultRuleError.self) { try rule.effect() }
        do {
            _ = try rule.effect()
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("valid rules map to their effect")
    func valid() throws {
        #expect(
            try FaultRule(error: "throttlingException", retryAfterMs: 10).effect()
                == .error(.throttling, retryAfterMs: 10))
        #expect(
            try FaultRule(stream: "exception", afterEvents: 2, exception: "ModelTimeoutException").effect()
                == .stream(StreamFault(kind: .exception, afterEvents: 2, exception: .modelTimeout, dripMilliseconds: 0))
        )
    }

    @Test("times expires a rule; stream rules skip non-stream operations")
    func matching() throws {
        let book = FaultBook()
        _ = try book.add(FaultRule(times: 2, reset: true))
        _ = try book.add(FaultRule(stream: "close"))
        #expect(book.match(operation: .converse, model: nil, resolvedModel: nil, region: "us-east-1") == .reset)
        #expect(book.match(operation: .converse, model: nil, resolvedModel: nil, region: "us-east-1") == .reset)
        #expect(book.match(operation: .converse, model: nil, resolvedModel: nil, region: "us-east-1") == nil)
        #expect(book.match(operation: .converseStream, model: nil, resolvedModel: nil, region: "us-east-1") != nil)
        #expect(book.active.count == 1)
    }
}
