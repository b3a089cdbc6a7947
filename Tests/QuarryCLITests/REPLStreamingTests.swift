import Foundation
import TestSupport
import Testing

/// The REPL against a standalone `bedrock-emulator` that answers slowly (a token every
/// 200 ms), reached as if it were AWS: streamed tokens appear as they arrive, Ctrl-C
/// cancels the stream, and the secret key never reaches the screen.
@Suite(.serialized) struct REPLStreamingTests {
    private func environment(home: URL, key: String, secret: String) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home.path, "TERM": "xterm-256color", "LANG": "C.UTF-8",
            "QUARRY_HISTORY": home.appendingPathComponent("history").path,
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
        ]
    }

    private func home() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-repl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func streamPrintsTokensAsTheyArriveAndCtrlCCancelsIt() throws {
        let emulator = try EmulatorProcess(["--latency-per-token-ms", "200"])
        let repl = try PseudoTerminal(
            arguments: ["--target", "aws", "--endpoint", emulator.endpoint],
            environment: environment(home: try home(), key: "test", secret: "test"))
        try repl.waitForPrompt()
        _ = try repl.evaluate(":use amazon.nova-micro-v1:0")
        _ = try repl.evaluate("kept = 41")
        let mark = repl.transcript.count
        // The emulator's answer quotes the prompt first: 60 words then a marker, so the
        // whole answer takes over 12 s at 200 ms a token, and the marker comes last.
        repl.type("bedrock.stream{messages = ('quarry '):rep(60) .. ('zebrafinal'):upper()}\r")
        try repl.waitFor("You said", after: mark, timeout: 60)
        repl.type("\u{3}")
        try repl.waitFor("interrupted (session state kept)", after: mark, timeout: 30)
        try repl.waitFor("\nquarry> ", after: mark)
        // The cancelled call's status line says so (issue 18 §6).
        try repl.waitFor("[ConverseStream amazon.nova-micro-v1:0 · cancelled ·", after: mark, timeout: 30)
        let answered = String(repl.transcript.dropFirst(mark))
        #expect(!answered.contains("ZEBRAFINAL"), "the stream was cut before its end")
        #expect(!answered.contains("end_turn"))
        #expect(try repl.evaluate("kept + 1") == "42")
        // The next call works: a short one streams to the end with a status line.
        let next = try repl.evaluate("bedrock.stream{messages = 'hi', inference = {max_tokens = 3}}", timeout: 60)
        #expect(next.contains("[ConverseStream amazon.nova-micro-v1:0 ·"))
        #expect(next.contains("stop_reason = \"max_tokens\""))
    }

    @Test func noSecretReachesTheScreenOrTheHistory() throws {
        let emulator = try EmulatorProcess(["--latency-per-token-ms", "0"])
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let dir = try home()
        let repl = try PseudoTerminal(
            arguments: ["--target", "aws", "--endpoint", emulator.endpoint],
            environment: environment(home: dir, key: "AKIAIOSFODNN7EXAMPLE", secret: secret))
        try repl.waitForPrompt()
        #expect(repl.transcript.contains("AKIA"), "the banner names the masked key id")
        _ = try repl.evaluate("bedrock.identity()")
        _ = try repl.evaluate("bedrock.converse{model = 'amazon.nova-micro-v1:0', messages = 'hi'}")
        _ = try repl.evaluate("c = bedrock.client{}")
        _ = try repl.evaluate("c")
        _ = try repl.evaluate("_G")
        _ = try repl.evaluate(":target")
        _ = try repl.evaluate(":history")
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
        #expect(!repl.rawTranscript.contains(secret))
        #expect(!repl.rawTranscript.contains("AKIAIOSFODNN7EXAMPLE"))
        let history = (try? String(contentsOf: dir.appendingPathComponent("history"), encoding: .utf8)) ?? ""
        #expect(!history.contains(secret))
        #expect(history.contains("bedrock.identity()"))
    }
}
