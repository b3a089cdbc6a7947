import Foundation
import Testing

/// Issue 16 row 5, after its audit: what `quarry` reads from outside is bounded too. A
/// line of standard input came whole into memory before any limit applied (an endless
/// line took 1.95 GB under a 16 MiB cap), and so did a script's source.
@Suite struct InputBoundsTests {
    /// Runs `quarry` with `input` bytes on standard input (written from a file, so the
    /// test process never holds them) and returns the status, stderr and peak RSS.
    static func run(_ arguments: [String], inputBytes: Int) throws -> (status: Int32, stderr: String, peakRSS: Int) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-in-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input")
        FileManager.default.createFile(atPath: input.path, contents: nil)
        let handle = try FileHandle(forWritingTo: input)
        try handle.truncate(atOffset: UInt64(inputBytes))  // a sparse file of zero bytes, no newline
        try handle.close()
        let result = try MeasuredProcess.run(
            arguments, environment: ProcessInfo.processInfo.environment,
            stdinFile: input.path, killAfter: .seconds(120))
        return (result.exitCode ?? 128 + (result.signal ?? 0), result.stderr, result.peakRSS)
    }

    @Test func anEndlessLineOfStandardInputIsReadInBoundedPieces() throws {
        let script = "local n = 0 for piece in stdin.lines() do n = n + #piece end print(n)"
        let r = try Self.run(["--quiet", "--max-memory", "16", "-e", script], inputBytes: 300 << 20)
        // Pieces of at most 16 MiB reach the crossing, which refuses them under a 16 MiB cap.
        #expect(r.status != 0 && r.status < 128, "status \(r.status): \(r.stderr)")
        #expect(r.peakRSS < 400 << 20, "peak RSS \(r.peakRSS >> 20) MiB")
    }

    /// A line longer than one read's piece (16 MiB) was handed to the script as two lines,
    /// silently; it is one line too long for a Lua string, and the script is told so.
    @Test func aLineLongerThanAScriptsLongestStringIsAnErrorNotTwoLines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-line-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input")
        var bytes = Array("short\n".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "a"), count: (16 << 20) + 5)
        bytes += Array("\nb\n".utf8)
        try Data(bytes).write(to: input)
        let script = "for line in stdin.lines() do print(#line) end"
        let result = try MeasuredProcess.run(
            ["--quiet", "--max-memory", "200", "-e", script], environment: ProcessInfo.processInfo.environment,
            stdinFile: input.path, killAfter: .seconds(120))
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stdout == "5\n", "\(result.stdout)")
        #expect(
            result.stderr.contains(
                "LimitExceeded: stdin.read: a line is longer than the longest string a script can hold (16777216 bytes)"
            ),
            "\(result.stderr)")
    }

    @Test func aHugeScriptOnStandardInputIsRefused() throws {
        let r = try Self.run(["--quiet"], inputBytes: 200 << 20)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("larger than 16 MiB"), "\(r.stderr)")
        #expect(r.peakRSS < 400 << 20, "peak RSS \(r.peakRSS >> 20) MiB")
    }
}
