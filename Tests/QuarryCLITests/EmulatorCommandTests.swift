import BedrockRuntime
import Foundation
import Testing

/// `quarry emulator` through the real binary: it prints where it listens and how to
/// use it, answers a real signed Converse, and stops cleanly on SIGTERM.
@Suite struct EmulatorCommandTests {
    /// A running `quarry emulator` and the lines it printed so far.
    final class RunningEmulator: @unchecked Sendable {
        let process = Process()
        private let out = Pipe()
        private let lock = NSLock()
        private var text = ""

        init(_ arguments: [String]) throws {
            process.executableURL = QuarryProcess.binary
            process.arguments = ["emulator"] + arguments
            process.standardOutput = out
            process.standardError = Pipe()
            out.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.withLock { self.text += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
        }

        var output: String { lock.withLock { text } }

        /// Waits until the output contains `marker` (10 s at most).
        func waitFor(_ marker: String) async throws -> String {
            let deadline = ContinuousClock.now + .seconds(10)
            while !output.contains(marker) {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    throw CLIExpectation("quarry emulator did not print '\(marker)'; it printed: \(output)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return output
        }

        /// The value after `label` on its line.
        func value(after label: String) -> String? {
            output.split(separator: "\n").first { $0.contains(label) }
                .map { $0.components(separatedBy: label)[1].trimmingCharacters(in: .whitespaces) }
        }
    }

    struct CLIExpectation: Error, CustomStringConvertible {
        let description: String; init(_ d: String) { description = d }
    }

    @Test func servesASignedConverseAndStopsOnSIGTERM() async throws {
        let emulator = try RunningEmulator(["--port", "0"])
        defer { if emulator.process.isRunning { emulator.process.terminate() } }
        let banner = try await emulator.waitFor("Press Ctrl-C")
        let endpoint = try #require(emulator.value(after: "endpoint:"))
        #expect(endpoint.hasPrefix("http://127.0.0.1:"))
        #expect(!endpoint.hasSuffix(":0"))
        #expect(banner.contains("us-east-1"))
        #expect(banner.contains("test / test"))
        #expect(banner.contains("x-quarry-admin-token"))
        #expect(banner.contains("AWS_ENDPOINT_URL=\(endpoint)"))
        // boto3 reads only AWS_DEFAULT_REGION: the exports give it a region too.
        #expect(banner.contains("AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1"))
        #expect(banner.contains("--endpoint-url \(endpoint)"))

        let client = try BedrockRuntimeClient(
            configuration: .init(
                region: "us-east-1", endpoint: try BedrockEndpoint.parse(endpoint),
                authorizer: SigV4Authorizer(
                    region: "us-east-1", credentials: .init(accessKeyId: "test", secretAccessKey: "test"))))
        do {
            let answer = try await client.converse(
                ConverseRequest(
                    modelId: "anthropic.claude-3-haiku-20240307-v1:0", messages: [.user("Hello from the CLI test")]))
            #expect(answer.requestId?.count == 36)
            #expect(answer.output.usage.outputTokens > 0)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()

        emulator.process.terminate()  // SIGTERM
        let deadline = ContinuousClock.now + .seconds(10)
        while emulator.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!emulator.process.isRunning)
        #expect(emulator.process.terminationReason == .exit)
        #expect(emulator.process.terminationStatus == 0)
        _ = try await emulator.waitFor("Emulator stopped.")
    }

    @Test func tlsPrintsTheCAFile() async throws {
        let emulator = try RunningEmulator(["--port", "0", "--tls"])
        defer { if emulator.process.isRunning { emulator.process.terminate() } }
        _ = try await emulator.waitFor("Press Ctrl-C")
        let endpoint = try #require(emulator.value(after: "endpoint:"))
        #expect(endpoint.hasPrefix("https://127.0.0.1:"))
        let ca = try #require(emulator.value(after: "CA file:"))
        let pem = try String(contentsOfFile: ca, encoding: .utf8)
        #expect(pem.contains("BEGIN CERTIFICATE"))
        #expect(emulator.output.contains("AWS_CA_BUNDLE=\(ca)"))
        emulator.process.terminate()
        emulator.process.waitUntilExit()
        #expect(emulator.process.terminationStatus == 0)
    }

    @Test func badConfigFileIsAUsageError() throws {
        let result = try QuarryProcess.run(["emulator", "--config", "/nonexistent/emulator.json"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read emulator configuration"))
    }
}
