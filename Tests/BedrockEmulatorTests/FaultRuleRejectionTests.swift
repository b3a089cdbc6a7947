import BedrockWire
import Foundation
import Testing

@testable import BedrockEmulator

/// The emulator refuses what the client's injector refuses (the rule type is one,
/// in BedrockWire): `drip_ms` on a rule that is not a drip, and a stream fault on an
/// operation that does not stream. Before, it took both, and such rules never fired.
@Suite("FaultRuleRejectionTests")
struct FaultRuleRejectionTests {
    /// Rules the emulator must refuse, with the words its error must contain.
    static let refused: [(JSONValue, String)] = [
        (["stream": "close", "drip_ms": 5], "drip_ms only applies to stream = \"drip\""),
        (
            ["operation": "ConverseStream", "stream": "exception", "drip_ms": 0],
            "drip_ms only applies to stream = \"drip\""
        ),
        (
            ["operation": "Converse", "stream": "truncate"],
            "stream faults only apply to streaming operations, not Converse"
        ),
        (
            ["operation": "CountTokens", "stream": "drip", "drip_ms": 10],
            "stream faults only apply to streaming operations, not CountTokens"
        ),
        (["seconds": 1e12, "reset": true], "seconds must be positive and at most 31536000"),
    ]

    @Test("the admin API answers 400 naming the problem, and adds nothing")
    func adminAPI() async throws {
        try await withEmulator { emulator, client in
            let admin = ["x-quarry-admin-token": emulator.adminToken]
            for (rule, expected) in Self.refused {
                let reply = try await client.send("/_quarry/faults", json: rule, sign: false, headers: admin)
                #expect(reply.status == 400, "\(String(decoding: rule.serialized, as: UTF8.self))")
                let message = reply.json?["message"]?.stringValue ?? ""
                #expect(message.contains(expected), "\(message)")
            }
            #expect(emulator.faults.isEmpty)
            let listed = try await client.send("/_quarry/faults", method: "GET", sign: false, headers: admin)
            #expect(listed.json?["faults"]?.arrayValue?.isEmpty == true)
            // The same rules made right are taken.
            let drip = try await client.send(
                "/_quarry/faults", json: ["stream": "drip", "drip_ms": 5], sign: false, headers: admin)
            #expect(drip.status == 201)
            let stream = try await client.send(
                "/_quarry/faults", json: ["operation": "ConverseStream", "stream": "truncate"],
                sign: false, headers: admin)
            #expect(stream.status == 201)
            #expect(emulator.faults.count == 2)
        }
    }

    @Test("addFault throws the same errors, and adds nothing")
    func swiftAPI() throws {
        let emulator = BedrockEmulator(configuration: EmulatorConfiguration())
        for (json, expected) in Self.refused {
            let rule = try JSONDecoder().decode(FaultRule.self, from: Data(json.serialized))
            do {
                _ = try emulator.addFault(rule)
                Issue.record("accepted \(String(decoding: json.serialized, as: UTF8.self))")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        #expect(emulator.faults.isEmpty)
    }
}
