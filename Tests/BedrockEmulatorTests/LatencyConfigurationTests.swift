import Foundation
import Testing

@testable import BedrockEmulator

/// Per-token latency: small but non-zero by default, configurable in code and in the
/// configuration file (fractional milliseconds allowed).
@Suite struct LatencyConfigurationTests {
    private func file(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-latency-\(UUID().uuidString).json"
        ).path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultIsFiftyMicrosecondsPerToken() throws {
        #expect(EmulatorConfiguration().latencyPerToken == .microseconds(50))
        #expect(EmulatorConfiguration.defaultLatencyPerToken == .microseconds(50))
        // A file that does not mention latency keeps the default.
        #expect(try EmulatorConfiguration(contentsOfFile: try file("{}")).latencyPerToken == .microseconds(50))
    }

    @Test func fileAcceptsFractionalAndZeroMilliseconds() throws {
        #expect(
            try EmulatorConfiguration(contentsOfFile: try file(#"{"latency_per_token_ms": 0.25}"#)).latencyPerToken
                == .microseconds(250))
        #expect(
            try EmulatorConfiguration(contentsOfFile: try file(#"{"latency_per_token_ms": 0}"#)).latencyPerToken
                == .zero)
    }

    @Test func fileRejectsNegativeOrHugeLatency() throws {
        for value in ["-1", "1e9"] {
            let error = #expect(throws: EmulatorConfigurationError.self) {
                _ = try EmulatorConfiguration(contentsOfFile: try file("{\"latency_per_token_ms\": \(value)}"))
            }
            #expect(error?.message.contains("latency_per_token_ms") == true)
        }
    }
}
