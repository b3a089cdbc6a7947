import Foundation
import HTTPTestSupport
import Testing

/// Issue 21's audit, finding 1: `job:results()` parsed every output line and converted
/// every entry before the first page reached Lua, so a service serving huge lines took
/// the host past `--max-memory` (1.16 GB at a 64 MiB cap). Pages are now parsed one at
/// a time, each within what the sandbox's memory has left.
@Suite struct BatchResultsBoundsTests {
    @Test func hugeOutputLinesStayWithinTheMemoryCap() async throws {
        var service = HostileBatchService()
        // 190 lines of an 80,000-number array each (under what one crossing carries): 30 MB
        // of JSON, 15 million values, far more than 64 MiB as Lua or Swift values.
        let line =
            Array(#"{"recordId":"R00000001","modelOutput":["#.utf8)
            + Array(repeating: Array("0,".utf8), count: 80_000).flatMap { $0 } + Array("0]}\n".utf8)
        service.object = Array(repeating: line, count: 190).flatMap { $0 }
        let server = try await service.start()
        defer { Task { await server.shutdown() } }
        let script = """
            local job = bedrock.batch_job{id = 'abc123', output = 's3://data/out/'}
            local kept = {}
            for entry in job:results() do kept[#kept + 1] = entry end
            print(#kept)
            """
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in HostileBatchService.environment(server) { environment[name] = value }
        let result = try MeasuredProcess.run(
            [
                "--quiet", "--max-memory", "64", "--allow-bucket", "data/out", "--allow-role",
                HostileBatchService.role, "-e", script,
            ], environment: environment, killAfter: .seconds(240))
        #expect(result.exitCode == 1, "\(result.exitCode.map(String.init) ?? "signal") \(result.stderr)")
        #expect(
            result.stderr.contains("LimitExceeded: job:results: entry")
                || result.stderr.contains("memory cap reached"), "\(result.stderr)")
        #expect(result.peakRSS < 400 << 20, "peak RSS \(result.peakRSS >> 20) MiB")
        print("BatchResultsBoundsTests: peak RSS \(result.peakRSS >> 20) MiB; \(result.stderr)")
    }
}
