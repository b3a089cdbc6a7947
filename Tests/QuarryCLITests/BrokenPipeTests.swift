import Foundation
import Testing

/// A reader that goes away (`quarry run x.lua | head -1`) ends quarry quietly, as it ends
/// `lua`: by SIGPIPE, with nothing on stderr. Foundation's `FileHandle.write` trapped there
/// (exit 132 and a backtrace).
@Suite struct BrokenPipeTests {
    /// Runs quarry with `arguments`, reads one byte of `stream` and closes it; returns how
    /// the process ended and what it wrote to the other stream.
    static func runClosingEarly(_ arguments: [String], stream: KeyPath<Process, Any?>) throws -> (
        reason: Process.TerminationReason, status: Int32, other: String
    ) {
        let process = Process()
        process.executableURL = QuarryProcess.binary
        process.arguments = arguments
        let closed = Pipe(), other = Pipe()
        if stream == \Process.standardOutput {
            process.standardOutput = closed
            process.standardError = other
        } else {
            process.standardError = closed
            process.standardOutput = other
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        _ = try closed.fileHandleForReading.read(upToCount: 1)
        try closed.fileHandleForReading.close()
        let text = String(decoding: other.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, text)
    }

    @Test func printToAClosedPipeEndsBySIGPIPE() throws {
        let r = try Self.runClosingEarly(
            ["--quiet", "-e", "for i = 1, 1e7 do print(i) end"], stream: \Process.standardOutput)
        #expect(r.reason == .uncaughtSignal && r.status == SIGPIPE, "\(r.reason) \(r.status): \(r.other)")
        #expect(!r.other.contains("Fatal error"), "\(r.other)")
    }

    @Test func stderrWriteToAClosedPipeEndsBySIGPIPE() throws {
        let r = try Self.runClosingEarly(
            ["--quiet", "-e", "for i = 1, 1e7 do stderr.write(i, '\\n') end"], stream: \Process.standardError)
        #expect(r.reason == .uncaughtSignal && r.status == SIGPIPE, "\(r.reason) \(r.status): \(r.other)")
        #expect(!r.other.contains("Fatal error"), "\(r.other)")
    }
}
