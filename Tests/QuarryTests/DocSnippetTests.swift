import BedrockEmulator  // the stand-in for AWS the snippets' `target` points at
import Foundation
import Logging
import Quarry
import Testing

/// Every ```swift block of the DocC catalog, compiled into this target by
/// `scripts/doc-snippets` (DocSnippets.generated.swift) and run here against the real
/// emulator, so the docs cannot drift from the code. `scripts/test` checks the generated
/// file is up to date; the count check below catches a block added without regenerating.
@Suite struct DocSnippetTests {
    init() {
        // `QuarryTarget.resolve(localEmulator: .inProcess)` in a snippet must never reach AWS,
        // whatever credentials the machine running the tests has. `scripts/test` sets
        // QUARRY_TARGET before the test process starts; setenv here (for a bare `swift test`)
        // races with other tests' Foundation `Process.run` reading the environment.
        if ProcessInfo.processInfo.environment["QUARRY_TARGET"] != "emulator" {
            setenv("QUARRY_TARGET", "emulator", 1)
        }
    }

    @Test(arguments: DocSnippets.all.map(\.name))
    func theSnippetRuns(_ name: String) async throws {
        guard let snippet = DocSnippets.all.first(where: { $0.name == name }) else {
            Issue.record("no snippet \(name)")
            return
        }
        try await DocSnippetContext.with { context in
            do {
                try await snippet.run(context)
            } catch {
                Issue.record("\(snippet.source): \(error)")
            }
        }
    }

    @Test func everySwiftBlockIsGenerated() throws {
        let catalog = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Quarry/Quarry.docc").standardized
        var blocks = 0
        for page in try FileManager.default.contentsOfDirectory(atPath: catalog.path) where page.hasSuffix(".md") {
            let text = try String(contentsOf: catalog.appendingPathComponent(page), encoding: .utf8)
            blocks +=
                text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { $0.trimmingCharacters(in: .whitespaces) == "```swift" }.count
        }
        #expect(blocks == DocSnippets.all.count, "run scripts/doc-snippets: the catalog has \(blocks) swift blocks")
    }
}

/// What the snippets use without defining: a target (the emulator), a host on it with
/// the guide's `tools.lookup` and a default model, a policy, an output buffer, the app's
/// catalogue and a script file.
struct DocSnippetContext: Sendable {
    let target: QuarryTarget
    let host: QuarryHost
    let policy: HostPolicy
    let output: OutputBuffer
    let catalogue: Catalogue
    let reportPath: String

    static func with(_ body: (DocSnippetContext) async throws -> Void) async throws {
        var logger = Logger(label: "test.emulator")
        logger.logLevel = .error
        let emulator = BedrockEmulator(configuration: EmulatorConfiguration(), logger: logger)
        let endpoint = try await emulator.start()
        let target = QuarryTarget.emulator(
            url: endpoint.url, adminToken: emulator.adminToken,
            caCertificatePath: endpoint.caCertificatePath)
        let output = OutputBuffer()
        let policy = HostPolicy(
            allowedModels: ["amazon.nova-*", "anthropic.claude-3-haiku-*"], callBudget: 20, tokenBudget: 20_000)
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).lua")
        try "local month = ...\nprint('report for ' .. month)\nreturn month".write(
            to: report, atomically: true, encoding: .utf8)
        var failure: (any Error)?
        do {
            let host = try await QuarryHost(
                target: target,
                options: .init(
                    policy: policy, output: output.append,
                    errorOutput: { _ in },
                    defaultModel: "amazon.nova-micro-v1:0"))
            let catalogue = Catalogue()
            try await host.register("tools.lookup") { args in
                guard let item = try await catalogue.item(args.first?.stringValue ?? "") else {
                    throw ScriptError(code: "UnknownProduct", message: "no such product")
                }
                return [
                    .map([
                        "name": .string(item.name), "price": .number(item.price), "in_stock": .boolean(item.stock > 0),
                    ])
                ]
            }
            do {
                try await body(
                    DocSnippetContext(
                        target: target, host: host, policy: policy, output: output,
                        catalogue: catalogue, reportPath: report.path))
            } catch {
                failure = error
            }
            await host.shutdown()
        } catch {
            failure = failure ?? error
        }
        try? FileManager.default.removeItem(at: report)
        await target.shutdown()
        await emulator.stop()
        if let failure { throw failure }
    }
}

/// The guide's "any thread-safe text buffer of your own".
final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ text: String) { lock.withLock { parts.append(text) } }
    var text: String { lock.withLock { parts.joined() } }
}

/// The guide's product catalogue.
struct Catalogue: Sendable {
    struct Item: Sendable {
        var name: String
        var price: Double
        var stock: Int
    }

    func item(_ sku: String) async throws -> Item? {
        ["QX-100": Item(name: "Quarry hammer", price: 24.5, stock: 12)][sku]
    }
}
