import Foundation
import Quarry
import Testing

@testable import QuarryCLI

/// Issue 23 rows 10 and 11 through the real binary: files Quarry writes never follow a
/// planted symbolic link, and text from the network is escaped before it reaches a
/// terminal. Loopback only.
@Suite(.serialized) struct HostileOutputTests {
    /// A fresh directory with a stand-in `authorized_keys` (mode 0644).
    struct Layout {
        let directory: URL
        var victim: String { directory.appendingPathComponent("authorized_keys").path }
        static let original = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA original@host\n"

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "quarry-hostile-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Self.original.write(
                toFile: directory.appendingPathComponent("authorized_keys").path, atomically: false, encoding: .utf8)
            chmod(directory.appendingPathComponent("authorized_keys").path, 0o644)
        }

        func victimUnchanged() throws -> Bool {
            var info = stat()
            guard stat(victim, &info) == 0 else { return false }
            return try String(contentsOfFile: victim, encoding: .utf8) == Self.original && info.st_mode & 0o777 == 0o644
        }
    }

    // MARK: Row 10: files

    @Test func historyAppendAndRewriteNeverFollowPlantedLinks() throws {
        let layout = try Layout()
        let path = layout.directory.appendingPathComponent("history").path
        let history = HistoryFile(path: path, capacity: 2)
        // A link planted where the rewrite used to put its temporary file…
        try FileManager.default.createSymbolicLink(
            atPath: path + ".tmp-\(getpid())", withDestinationPath: layout.victim)
        try history.rewrite(["one", "two"])
        #expect(try layout.victimUnchanged())
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\n")
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)

        // …and one at the history path itself: append refuses it, load reads nothing through it.
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: layout.victim)
        #expect(throws: HistoryError.self) { try history.append("ssh-rsa attacker-key") }
        #expect(history.load().isEmpty)
        #expect(try layout.victimUnchanged())
        // A rewrite replaces the link with a private file of its own.
        try history.rewrite(["three"])
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o777 == 0o600)
        #expect(try layout.victimUnchanged())
    }

    @Test func replHistoryLinkedToAuthorizedKeysIsNotWritten() throws {
        let layout = try Layout()
        let history = layout.directory.appendingPathComponent("shared_history").path
        try FileManager.default.createSymbolicLink(atPath: history, withDestinationPath: layout.victim)
        let env: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": layout.directory.path, "TERM": "xterm-256color", "LANG": "C.UTF-8",
            "QUARRY_HISTORY": history, "QUARRY_TARGET": "emulator", "NO_COLOR": "1",
        ]
        let repl = try PseudoTerminal(arguments: [], environment: env)
        try repl.waitForPrompt()
        #expect(try repl.evaluate("x = 'ssh-rsa attacker-key'").contains("symbolic link"))
        let saved = layout.directory.appendingPathComponent("saved.lua").path
        try FileManager.default.createSymbolicLink(atPath: saved, withDestinationPath: layout.victim)
        #expect(try repl.evaluate(":save \(saved)").contains("saved"))
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
        #expect(try layout.victimUnchanged(), "neither the history nor :save wrote through the link")
        var info = stat()
        #expect(lstat(saved, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
    }

    /// A regression guard: main's `Data.write(options: .atomic)` already renamed over a
    /// link; `PrivateFile.replace` keeps that (and the mode) explicit.
    @Test func testRunnerOutputAndReportReplaceLinksInsteadOfFollowing() throws {
        let layout = try Layout()
        let dir = try TestCommandTests.directory([
            "ok_test.lua": """
            test("passes", function() expect(1).to_equal(1) end)
            """
        ])
        let output = dir.appendingPathComponent("out.tap").path
        let report = dir.appendingPathComponent("report.html").path
        try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: layout.victim)
        try FileManager.default.createSymbolicLink(atPath: report, withDestinationPath: layout.victim)
        let r = try QuarryProcess.run(
            ["test", "--quiet", "--format", "tap", "--output", output, "--report", report, dir.path],
            environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try layout.victimUnchanged())
        var info = stat()
        #expect(lstat(output, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        #expect(lstat(report, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        #expect(try String(contentsOfFile: output, encoding: .utf8).contains("ok 1"))
    }

    // MARK: Row 11: terminal escapes in text from the network

    @Test func testRunnerEscapesFailureMessages() throws {
        let server = try Self.hostileServer()
        defer { server.stop() }
        let layout = try Layout()
        let dir = try TestCommandTests.directory([
            "hostile_test.lua": """
            test("a call to a hostile endpoint", function()
              bedrock.converse{model = "amazon.nova-micro-v1:0", messages = "hi"}
            end)
            """
        ])
        let r = try QuarryProcess.run(
            ["test", "--target", "aws", "--endpoint", "http://127.0.0.1:\(server.port)", dir.path],
            environment: Self.awsEnvironment(home: layout.directory.path))
        #expect(r.status == 1)
        #expect(r.stdout.contains(#"\x1b]0;pwned\x07"#), "\(r.stdout)")
        #expect(!r.stdout.contains("\u{1B}]"), "no OSC sequence in the runner's output")
        // JUnit printed to the terminal: C1 (the 8-bit CSI) shown, not sent.
        let junit = try QuarryProcess.run(
            [
                "test", "--format", "junit", "--target", "aws",
                "--endpoint", "http://127.0.0.1:\(server.port)", dir.path,
            ],
            environment: Self.awsEnvironment(home: layout.directory.path))
        #expect(junit.stdout.contains("<testsuite"), "\(junit.stdout)")
        #expect(
            !junit.stdout.unicodeScalars.contains { (0x80...0x9F).contains($0.value) || $0.value == 0x1B },
            "no raw C0/C1 control in the JUnit output")
        #expect(junit.stdout.contains(#"\u{9b}"#), "\(junit.stdout)")
    }

    static let hostileMessage =
        #"{"message":"clipboard \u001b]52;c;c3NoLXJzYSBBQUFB\u0007 title \u001b]0;pwned\u0007 csi \u001b[2J c1 \u009b31m end"}"#

    static func hostileServer() throws -> HostileServer {
        try HostileServer(
            headers: [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
                ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"),
            ],
            body: hostileMessage)
    }

    static func awsEnvironment(home: String) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": "AKIDHOSTILETEST00000", "AWS_SECRET_ACCESS_KEY": "hostile-test-secret",
            "AWS_REGION": "us-east-1",
            "QUARRY_HISTORY": "", "TERM": "xterm-256color", "NO_COLOR": "1",
        ]
    }

    @Test func runEscapesAServiceErrorMessage() throws {
        let server = try Self.hostileServer()
        defer { server.stop() }
        let layout = try Layout()
        let script = layout.directory.appendingPathComponent("call.lua").path
        try "return bedrock.converse{model = 'amazon.nova-micro-v1:0', messages = 'hi'}".write(
            toFile: script, atomically: false, encoding: .utf8)
        let result = try QuarryProcess.run(
            ["run", "--target", "aws", "--endpoint", "http://127.0.0.1:\(server.port)", script],
            environment: Self.awsEnvironment(home: layout.directory.path))
        #expect(result.status == 1)
        #expect(result.stderr.contains("ValidationException"))
        #expect(result.stderr.contains(#"\x1b]52;c;c3NoLXJzYSBBQUFB\x07"#))
        #expect(result.stderr.contains(#"\x1b]0;pwned\x07"#))
        #expect(result.stderr.contains(#"\u{9b}31m"#))
        #expect(!result.stderr.contains("\u{1B}"), "no raw ESC reaches the terminal")
        #expect(!result.stderr.unicodeScalars.contains("\u{9B}"), "no raw C1 CSI either")
    }

    @Test func replEscapesAServiceErrorMessage() throws {
        let server = try Self.hostileServer()
        defer { server.stop() }
        let layout = try Layout()
        let repl = try PseudoTerminal(
            arguments: ["--target", "aws", "--endpoint", "http://127.0.0.1:\(server.port)"],
            environment: Self.awsEnvironment(home: layout.directory.path))
        try repl.waitForPrompt()
        let mark = repl.rawTranscript.count
        let shown = try repl.evaluate("bedrock.converse{model = 'amazon.nova-micro-v1:0', messages = 'hi'}")
        #expect(shown.contains(#"\x1b]52;c;c3NoLXJzYSBBQUFB\x07"#))
        #expect(shown.contains(#"\x1b]0;pwned\x07"#))
        let raw = String(repl.rawTranscript.dropFirst(mark))
        #expect(!raw.contains("\u{1B}]"), "no OSC sequence reaches the terminal")
        #expect(!raw.contains("\u{1B}[2J"))
        // The value printer too: an error value's text is escaped.
        let printed = try repl.evaluate(
            "select(2, pcall(bedrock.converse, {model = 'amazon.nova-micro-v1:0', messages = 'hi'}))")
        #expect(printed.contains(#"\x1b]0;pwned\x07"#))
        #expect(!String(repl.rawTranscript.dropFirst(mark)).contains("\u{1B}]"))
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
    }

    @Test func terminalTextEscapesEveryControlButNewlineAndTab() {
        #expect(TerminalText.escaped("a\tb\nc") == "a\tb\nc")
        #expect(TerminalText.escaped("\u{1B}]0;t\u{07}") == #"\x1b]0;t\x07"#)
        #expect(TerminalText.escaped("\u{7F}\u{9B}\u{202E}é") == #"\x7f\u{9b}\u{202e}é"#)
    }
}
