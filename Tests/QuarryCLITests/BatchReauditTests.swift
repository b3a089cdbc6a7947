import Foundation
import HTTPTestSupport
import Testing

/// Issue 21's second audit: what a hostile Bedrock+S3 can do through `job:results()`,
/// `job:status()` and the job's name.
@Suite struct BatchReauditTests {
    /// Runs `script` against `service` under the batch policy flags.
    static func run(_ service: HostileBatchService, _ script: String, memory: Int, extra: [String: String] = [:])
        async throws -> MeasuredProcess.Result
    {
        let server = try await service.start()
        defer { Task { await server.shutdown() } }
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in HostileBatchService.environment(server) { environment[name] = value }
        for (name, value) in extra { environment[name] = value }
        return try MeasuredProcess.run(
            [
                "--quiet", "--max-memory", String(memory), "--allow-bucket", "data/out", "--allow-role",
                HostileBatchService.role, "-e", script,
            ], environment: environment, killAfter: .seconds(240))
    }

    static let listEntries = """
        local job = bedrock.batch_job{id = 'abc123', output = 's3://data/out/'}
        local ok, e = pcall(function()
          for r in job:results() do
            print(r.index, r.record_id, r.error and r.error.code or '-', r.error and #r.error.message or 0,
              r.error and r.error.message:sub(-40) or '')
          end
        end)
        print('done', ok, e)
        """

    /// Finding 4: a line that is not JSON (bad UTF-8, nesting past 512) is an error entry
    /// for its record, not the end of every record's results. Finding 5: a line naming
    /// `recordId` twice shows the first, as the index takes it.
    @Test func badLinesAreErrorEntriesAndARepeatedRecordIdShowsTheFirst() async throws {
        var service = HostileBatchService()
        var object: [UInt8] = []
        object += Array(#"{"recordId":"R00000001","modelOutput":{}}"#.utf8) + [0x0A]
        object += Array(#"{"recordId":"R00000002","modelOutput":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8) + [0x0A]
        object += Array(#"{"recordId":"R00000003","modelOutput":"#.utf8)
        object += Array(repeating: UInt8(ascii: "["), count: 600) + Array(repeating: UInt8(ascii: "]"), count: 600)
        object += Array("}".utf8) + [0x0A]
        object += Array(#"{"recordId":"R00000004","modelOutput":{},"recordId":"R00000009"}"#.utf8) + [0x0A]
        service.object = object
        let result = try await Self.run(service, Self.listEntries, memory: 64)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(result.stdout)")
        #expect(lines.first?.hasPrefix("1\tR00000001\t-") == true, "\(result.stdout)")
        #expect(lines.dropFirst(1).first?.hasPrefix("2\tR00000002\tInvalidLine") == true, "\(result.stdout)")
        #expect(lines.dropFirst(2).first?.hasPrefix("3\tR00000003\tInvalidLine") == true, "\(result.stdout)")
        #expect(lines.dropFirst(3).first?.hasPrefix("4\tR00000004\t-") == true, "\(result.stdout)")
        #expect(lines.last?.hasPrefix("done\ttrue") == true, "\(result.stdout)")
    }

    /// Finding 4: an `errorMessage` of 20 MiB (past the longest Lua string the host hands
    /// over) is cut to 64 KiB with its length noted, not the end of the script.
    @Test func aHugeErrorMessageIsCutNotFatal() async throws {
        var service = HostileBatchService()
        let message = String(repeating: "a", count: 20 << 20)
        service.object =
            Array(#"{"recordId":"R00000001","error":{"errorCode":400,"errorMessage":"\#(message)"}}"#.utf8) + [0x0A]
            + Array(#"{"recordId":"R00000002","modelOutput":{}}"#.utf8) + [0x0A]
        let result = try await Self.run(service, Self.listEntries, memory: 256)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(result.stdout.prefix(2000))")
        #expect(lines.first?.hasPrefix("1\tR00000001\tRecordError") == true, "\(result.stdout.prefix(2000))")
        #expect(lines.first?.hasSuffix("…(\(20 << 20) bytes)") == true, "\(result.stdout.prefix(2000))")
        #expect(lines.first.map { $0.utf8.count < 70_000 } == true)
        #expect(lines.last?.hasPrefix("done\ttrue") == true, "\(result.stdout.suffix(2000))")
    }

    /// Finding 4: an output string past the longest Lua string the host hands over is an
    /// error entry for its record, not the end of the script.
    @Test func anOutputStringTooLongForLuaIsAnErrorEntry() async throws {
        var service = HostileBatchService()
        let text = String(repeating: "y", count: 17 << 20)
        service.object =
            Array(#"{"recordId":"R00000001","modelOutput":{"blob":"\#(text)"}}"#.utf8) + [0x0A]
            + Array(#"{"recordId":"R00000002","modelOutput":{}}"#.utf8) + [0x0A]
        let result = try await Self.run(service, Self.listEntries, memory: 256)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(result.stdout.prefix(2000))")
        #expect(lines.first?.hasPrefix("1\tR00000001\tEntryTooLarge") == true, "\(result.stdout.prefix(2000))")
        #expect(lines.dropFirst().first?.hasPrefix("2\tR00000002\t-") == true, "\(result.stdout.prefix(2000))")
        #expect(lines.last?.hasPrefix("done\ttrue") == true, "\(result.stdout.suffix(2000))")
    }

    /// Finding 2: a Converse job's entry holds its text twice (the output and `text`); a
    /// page estimated without the second copy took the sandbox past its hard memory cap
    /// (exit 3, no pcall). Now the page fits, or the error is one the script can catch.
    @Test func converseTextIsCountedInAPagesEstimate() async throws {
        var service = HostileBatchService()
        let text = String(repeating: "x", count: 12_000)
        let line = Array(
            #"{"recordId":"R00000001","modelOutput":{"output":{"message":{"content":[{"text":"\#(text)"}]}}}}"#.utf8)
        service.object = Array(Array(repeating: line + [0x0A], count: 2_600).joined())
        let script = """
            local job = bedrock.batch_job{id = 'abc123', output = 's3://data/out/'}
            local n, bytes = 0, 0
            local ok, e = pcall(function() for r in job:results() do n = n + 1 bytes = bytes + #(r.text or '') end end)
            print('done', n, bytes, ok, e)
            """
        let result = try await Self.run(service, script, memory: 16)
        #expect(result.exitCode == 0, "\(result.exitCode.map(String.init) ?? "signal") \(result.stderr)")
        #expect(result.stdout.hasPrefix("done\t"), "\(result.stdout) \(result.stderr)")
        print("BatchReauditTests converse: peak RSS \(result.peakRSS >> 20) MiB; \(result.stdout)")
    }

    /// Finding 3: a session token cut into 60-character pieces between spaces in a job's
    /// `message`, and a piece of it as the job's name, never reach the script.
    @Test func piecesOfTheSessionTokenInAJobsMessageAndNameAreRemoved() async throws {
        let token = "FwoGZXIvYXdzEJr" + String(repeating: "Qk9TU0lPTlRPS0VOcGx1Z2g", count: 8)
        let pieces = stride(from: 0, to: token.count, by: 60).map { start -> String in
            let from = token.index(token.startIndex, offsetBy: start)
            let to = token.index(from, offsetBy: 60, limitedBy: token.endIndex) ?? token.endIndex
            return String(token[from..<to])
        }
        var service = HostileBatchService()
        service.message = "failed: " + pieces.joined(separator: " ") + " (done)"
        service.jobName = String(token.dropFirst(5).prefix(40))
        let script = """
            local job = bedrock.batch_job{id = 'abc123', output = 's3://data/out/'}
            print('name', job.name)
            print('message', job:status().message)
            """
        let result = try await Self.run(service, script, memory: 64, extra: ["AWS_SESSION_TOKEN": token])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("name\tabc123"), "\(result.stdout)")
        #expect(result.stdout.contains("message\tfailed: [redacted] (done)"), "\(result.stdout)")
        let shown = result.stdout.filter { !$0.isWhitespace }
        let bytes = Array(token)
        let leaked = (0...(bytes.count - 16)).map { String(bytes[$0..<($0 + 16)]) }.filter { shown.contains($0) }
        #expect(leaked.isEmpty, "pieces of the session token shown: \(leaked.prefix(3))")
    }
}
