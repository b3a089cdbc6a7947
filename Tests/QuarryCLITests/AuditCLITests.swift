import Foundation
import Testing

/// `--audit`, `QUARRY_AUDIT_LOG` and `quarry audit verify|summary` through the real
/// binary, against the built-in emulator it starts when no AWS credentials are configured.
@Suite struct AuditCLITests {
    static func temporary(_ suffix: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("quarry-audit-\(UUID().uuidString)\(suffix)")
    }

    /// Four successful calls, one refused by `--allow-model`.
    static let script = """
        for i = 1, 4 do bedrock.converse{model='amazon.nova-micro-v1:0', messages='call ' .. i} end
        local ok, e = pcall(bedrock.converse, {model='anthropic.claude-3-haiku-20240307-v1:0', messages='no'})
        print(e.code)
        """

    /// Runs the script with `--audit` and returns the log's lines.
    static func makeLog() throws -> (URL, [String]) {
        let log = temporary(".jsonl")
        let script = temporary(".lua")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let r = try QuarryProcess.run(
            ["run", "--quiet", "--allow-model", "amazon.*", "--audit", log.path, script.path],
            environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "PolicyViolation\n")
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        return (log, lines)
    }

    static func verify(_ lines: [String]) throws -> QuarryProcess.Result {
        let file = temporary(".jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return try QuarryProcess.run(["audit", "verify", file.path])
    }

    @Test func runWritesAnIntactOwnerOnlyLog() throws {
        let (log, lines) = try Self.makeLog()
        let mode = try FileManager.default.attributesOfItem(atPath: log.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(lines[4].contains("\"kind\":\"refusal\""))
        #expect(lines[4].contains("\"policy_rule\":\"allowedModels\""))
        #expect(!lines.joined().contains("call 1"), "no prompt content by default")
        let r = try QuarryProcess.run(["audit", "verify", log.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("5 records, chain intact"))
    }

    @Test func verifyCatchesAnEditedRecord() throws {
        var (_, lines) = try Self.makeLog()
        lines[2] = lines[2].replacingOccurrences(
            of: "\"outcome\":\"success\"", with: "\"outcome\":\"ThrottlingException\"")
        let r = try Self.verify(lines)
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 3: the record was changed"), "\(r.stderr)")
    }

    @Test func verifyCatchesARemovedRecord() throws {
        var (_, lines) = try Self.makeLog()
        lines.remove(at: 1)
        let r = try Self.verify(lines)
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 2: the chain is broken"), "\(r.stderr)")
        // Removing the first record is caught too: the new first does not anchor on its run id.
        let head = try Self.verify(Array(lines.dropFirst()))
        #expect(head.status == 1)
        #expect(head.stderr.contains("line 1: the first record does not anchor"), "\(head.stderr)")
    }

    @Test func verifyCatchesReorderedRecords() throws {
        var (_, lines) = try Self.makeLog()
        lines.swapAt(2, 3)
        let r = try Self.verify(lines)
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 3: the chain is broken"), "\(r.stderr)")
    }

    @Test func verifyCatchesAnInsertedRecord() throws {
        var (_, lines) = try Self.makeLog()
        // A copy of a genuine record (its own hash is right) inserted further on.
        lines.insert(lines[1], at: 3)
        let r = try Self.verify(lines)
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 4: the chain is broken"), "\(r.stderr)")
    }

    @Test func summaryMatchesTheCallsMade() throws {
        let (log, lines) = try Self.makeLog()
        var tokensIn = 0, tokensOut = 0
        for line in lines.prefix(4) {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            tokensIn += record["tokens_in"] as? Int ?? 0
            tokensOut += record["tokens_out"] as? Int ?? 0
        }
        #expect(tokensIn > 0 && tokensOut > 0)
        let json = try QuarryProcess.run(["audit", "summary", "--json", log.path])
        #expect(json.status == 0, "\(json.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let nova = try #require(rows.first { $0["model"] as? String == "amazon.nova-micro-v1:0" })
        #expect(nova["calls"] as? Int == 4)
        #expect(nova["errors"] as? Int == 0)
        #expect(nova["tokens_in"] as? Int == tokensIn)
        #expect(nova["tokens_out"] as? Int == tokensOut)
        #expect((nova["principal"] as? String)?.contains("(emulator)") == true)
        let claude = try #require(rows.first { $0["model"] as? String == "anthropic.claude-3-haiku-20240307-v1:0" })
        #expect(claude["refused"] as? Int == 1)
        #expect(claude["calls"] as? Int == 0)

        let csv = try QuarryProcess.run(["audit", "summary", "--csv", log.path])
        #expect(csv.stdout.hasPrefix("day,principal,model,calls,errors,refused,tokens_in,tokens_out\r\n"))
        #expect(csv.stdout.contains(",amazon.nova-micro-v1:0,4,0,0,\(tokensIn),\(tokensOut)\r\n"))
        let text = try QuarryProcess.run(["audit", "summary", log.path])
        #expect(text.stdout.contains("amazon.nova-micro-v1:0"))
        #expect(text.stdout.hasPrefix("day"))
    }

    @Test func anUnwritableLogStopsTheRunBeforeTheFirstCall() throws {
        let marker = Self.temporary(".marker")
        // The script would print before calling; nothing runs at all.
        for args in [
            ["run", "--quiet", "--audit", "/nonexistent-dir/audit.jsonl", "-"],
            ["--quiet", "--audit", "/nonexistent-dir/audit.jsonl"],
            ["test", "--quiet", "--audit", "/nonexistent-dir/audit.jsonl", marker.path],
        ] {
            let r = try QuarryProcess.run(
                args, stdin: "print('ran') bedrock.converse{model='amazon.nova-micro-v1:0', messages='x'}",
                environment: HostCLITests.noAWS)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("cannot open the audit log '/nonexistent-dir/audit.jsonl'"), "\(r.stderr)")
        }
    }

    @Test func aFileThatIsNotALogIsNotAppendedTo() throws {
        let file = Self.temporary(".jsonl")
        FileManager.default.createFile(
            atPath: file.path, contents: Data("garbage\n".utf8), attributes: [.posixPermissions: 0o600])
        let r = try QuarryProcess.run(
            ["run", "--quiet", "--audit", file.path, "-"],
            stdin: "print('ran') bedrock.converse{model='amazon.nova-micro-v1:0', messages='x'}",
            environment: HostCLITests.noAWS)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("the audit log '\(file.path)' does not end in an audit record"), "\(r.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8) == "garbage\n")
    }

    @Test func theEnvironmentVariableTheREPLPathAndTestCommandAppendToOneChain() throws {
        let log = Self.temporary(".jsonl")
        var env = HostCLITests.noAWS
        env["QUARRY_AUDIT_LOG"] = log.path
        let e = try QuarryProcess.run(
            ["--quiet", "-e", "bedrock.converse{model='amazon.nova-micro-v1:0', messages='e'}"],
            environment: env)
        #expect(e.status == 0, "\(e.stderr)")
        let suite = Self.temporary("_test.lua")
        try "test('calls', function() bedrock.converse{model='amazon.nova-micro-v1:0', messages='t'} end)\n"
            .write(to: suite, atomically: true, encoding: .utf8)
        let t = try QuarryProcess.run(
            ["test", "--quiet", "--audit", log.path, "--audit-content", suite.path],
            environment: HostCLITests.noAWS)
        #expect(t.status == 0, "\(t.stdout)\(t.stderr)")
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"content\":false"))
        #expect(lines[1].contains("\"content\":true"))
        #expect(lines[1].contains("\"script\":\"\(suite.path)\""))
        let r = try QuarryProcess.run(["audit", "verify", log.path])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func theInteractiveREPLAuditsItsCalls() throws {
        let sandbox = try REPLTerminalTests.Sandbox()
        let log = sandbox.home.appendingPathComponent("audit.jsonl")
        let repl = try sandbox.start(["--audit", log.path])
        _ = try repl.evaluate("r = bedrock.converse{model='amazon.nova-micro-v1:0', messages='from the repl'}")
        repl.type("\u{4}")
        #expect(repl.waitForExit() == 0)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("\"operation\":\"Converse\"") == true)
        #expect(lines.first?.contains("from the repl") == false)
        let r = try QuarryProcess.run(["audit", "verify", log.path])
        #expect(r.status == 0, "\(r.stderr)")
    }
}
