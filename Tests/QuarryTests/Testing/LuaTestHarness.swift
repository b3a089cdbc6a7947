import BedrockEmulator
import BedrockRuntime
import EmulatorTestSupport
import Foundation
import Quarry
import TestSupport

/// Runs Lua test files through the real `TestRunner` against a live emulator on
/// 127.0.0.1, with a client fault injector in the target.
struct LuaTestHarness {
    let emulator: BedrockEmulator
    let injector: ClientFaultInjector
    let target: QuarryTarget
    let directory: URL

    static func with<T>(_ body: (LuaTestHarness) async throws -> T) async throws -> T {
        try await BedrockEmulator.withStarted(.oneThread()) { emulator, endpoint in
            let injector = ClientFaultInjector()
            let target = QuarryTarget.emulator(
                url: endpoint.url, adminToken: emulator.adminToken, middlewares: [injector])
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "quarry-lua-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try await body(
                LuaTestHarness(emulator: emulator, injector: injector, target: target, directory: directory))
        }
    }

    /// Writes `source` as `name` and runs it; script output is collected into `output`.
    func run(
        _ name: String, _ source: String, timeout: Duration = .seconds(20), filter: String? = nil,
        output: TextSink = TextSink()
    ) async throws -> TestRunSummary {
        let path = directory.appendingPathComponent(name).path
        try Data(source.utf8).write(to: URL(fileURLWithPath: path))
        let runner = TestRunner(
            target: target, injector: injector,
            options: .init(
                defaultTimeout: timeout, filter: filter, scriptOutput: output.write, scriptErrorOutput: output.write))
        return await runner.run(files: [path])
    }
}

extension TestRunSummary {
    /// The result of the test with this full name.
    func result(_ name: String) -> TestCaseResult? { results.first { $0.name == name } }

    /// Names of the tests that did not pass, with their messages (for failure output).
    var problems: String {
        (results.filter { $0.status == .failed }.map { "\($0.name): \($0.message ?? "")" }
            + fileErrors.map { "\($0.file): \($0.message)" }).joined(separator: "\n")
    }
}
