import Foundation
import QuarryFuzzSupport
import Testing

/// Replays every file of the fuzz regression corpora (`Tests/FuzzCorpora/<target>/`)
/// through the same `fuzzOne` the libFuzzer executables run, without sanitizers, so
/// a reintroduced crash or broken property fails `swift test`.
@Suite struct FuzzReplayTests {
    static let corpora = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("FuzzCorpora")

    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpora.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
            .sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    @Test("every target has a regression corpus folder, and every folder a target")
    func corporaMatchTargets() throws {
        let folders = Set(
            try FileManager.default.contentsOfDirectory(atPath: Self.corpora.path).filter { !$0.hasPrefix(".") })
        #expect(folders == Set(FuzzTarget.all.map(\.name)))
    }

    @Test("regression corpus replays clean", arguments: FuzzTarget.all.map(\.name))
    func replay(_ name: String) async throws {
        let target = try #require(FuzzTarget.named(name))
        let inputs = try Self.inputs(name)
        #expect(!inputs.isEmpty, "Tests/FuzzCorpora/\(name)/ holds no input")
        for input in inputs {
            // Some targets block on async work: run them off Swift's cooperative pool.
            let finding: FuzzFinding? = await withCheckedContinuation { done in
                Thread {
                    do throws(FuzzFinding) {
                        try target.fuzzOne(input.bytes)
                        done.resume(returning: nil)
                    } catch {
                        done.resume(returning: error)
                    }
                }.start()
            }
            #expect(finding == nil, "\(name)/\(input.name): \(finding?.description ?? "")")
        }
    }
}
