import Foundation
import Testing

@testable import QuarryCLI

/// The history file's cap and permissions, without a terminal.
@Suite struct HistoryFileTests {
    @Test func loadKeepsTheNewestEntriesAndRewritesTheFileAs0600() throws {
        let sandbox = try REPLTerminalTests.Sandbox()
        let path = sandbox.history.path
        try (1...15).map { "line \($0)\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        let file = HistoryFile(path: path, capacity: 10)
        let entries = file.load()
        #expect(entries.count == 10)
        #expect(entries.first == "line 6")
        #expect(entries.last == "line 15")
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 10)
        try file.append("line 16")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(HistoryFile.fromEnvironment(["QUARRY_HISTORY": ""]) == nil, "an empty QUARRY_HISTORY turns history off")
        #expect(HistoryFile.fromEnvironment(["HOME": "/home/u"])?.path == "/home/u/.quarry_history")
    }
}
