import Foundation
import Testing

/// Issue 21's second audit, finding 1: `quarry batch submit --records FILE` split the
/// whole file into line slices and parsed every line before any budget applied: 255 MiB
/// of newlines took 4.5 GB, one 266 MB array line over 8 GB. The file is now walked
/// line by line over its bytes and its values are counted before any line is parsed.
@Suite struct RecordsFileBoundsTests {
    static func submit(_ contents: (FileHandle) throws -> Void) throws -> MeasuredProcess.Result {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString).jsonl")
            .path
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path)
        else { throw CocoaError(.fileWriteUnknown) }
        defer { try? FileManager.default.removeItem(atPath: path) }
        try contents(file)
        try file.close()
        return try MeasuredProcess.run(
            [
                "batch", "submit", "--quiet", "--model", "anthropic.claude-3-haiku-20240307-v1:0", "--records", path,
                "--output", "s3://bkt/o/", "--role-arn", "arn:aws:iam::123456789012:role/R",
            ], environment: HostCLITests.noAWS, killAfter: .seconds(240))
    }

    @Test func aFileOfNewlinesIsWalkedWithoutAListOfLines() throws {
        // 128 MiB of empty lines, then one line that is not JSON: the error names it, so
        // every line was walked.
        let result = try Self.submit { file in
            let chunk = Data(repeating: UInt8(ascii: "\n"), count: 1 << 20)
            for _ in 0..<128 { try file.write(contentsOf: chunk) }
            try file.write(contentsOf: Data("nope\n".utf8))
        }
        #expect(result.exitCode == 2, "\(result.exitCode.map(String.init) ?? "signal") \(result.stderr)")
        #expect(result.stderr.contains("line \(128 * 1_048_576 + 1) is not JSON"), "\(result.stderr)")
        #expect(result.peakRSS < 600 << 20, "peak RSS \(result.peakRSS >> 20) MiB")
        print("RecordsFileBoundsTests newlines: peak RSS \(result.peakRSS >> 20) MiB")
    }

    @Test func aHugeArrayLineIsRefusedBeforeItIsParsed() throws {
        // One 64 MB line of 32 million numbers: ten times what a job's records may carry.
        let result = try Self.submit { file in
            try file.write(contentsOf: Data("[".utf8))
            let chunk = Data(Array(repeating: Array("0,".utf8), count: 1 << 19).joined())
            for _ in 0..<64 { try file.write(contentsOf: chunk) }
            try file.write(contentsOf: Data("0]\n".utf8))
        }
        #expect(result.exitCode == 2, "\(result.exitCode.map(String.init) ?? "signal") \(result.stderr)")
        #expect(result.stderr.contains("more than 3200000 JSON values"), "\(result.stderr)")
        #expect(result.peakRSS < 400 << 20, "peak RSS \(result.peakRSS >> 20) MiB")
        print("RecordsFileBoundsTests array: peak RSS \(result.peakRSS >> 20) MiB")
    }
}
