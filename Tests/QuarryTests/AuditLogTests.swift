import BedrockEmulator
import EmulatorTestSupport
import Foundation
import Quarry
import Testing

/// The audit log through the embedding API (`QuarryHost.Options.audit`): a real host, a
/// real emulator on 127.0.0.1, and the log file read back.
@Suite struct AuditLogTests {
    static func temporaryLog() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("quarry-audit-\(UUID().uuidString).jsonl")
    }

    /// The records of a log, parsed.
    static func records(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    struct Rig {
        let emulator: BedrockEmulator
        let host: QuarryHost
        func stop() async { await host.shutdown(); await emulator.stop() }
    }

    static func start(_ audit: AuditLog, policy: HostPolicy = .permissive) async throws -> Rig {
        let (emulator, endpoint) = try await BedrockEmulator.started()
        let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken)
        var options = QuarryHost.Options(policy: policy, output: { _ in }, errorOutput: { _ in })
        options.audit = audit
        let host = try await QuarryHost(target: target, options: options)
        try await host.install(EmulatorModule())
        return Rig(emulator: emulator, host: host)
    }

    static let script = """
        local a = bedrock.converse{model='amazon.nova-micro-v1:0', messages='hello secretive prompt'}
        emulator.fault{operation='Converse', error='InternalServerException', times=2}
        local b = bedrock.converse{model='amazon.nova-micro-v1:0', messages='retried'}
        emulator.fault{operation='Converse', error='InternalServerException', times=2}
        local ok, e = pcall(function()
          local r = bedrock.client{retry={max_attempts=2}}:converse{model='amazon.nova-micro-v1:0', messages='fails'}
          return r
        end)
        local ok2, e2 = pcall(function()
          local r = bedrock.converse{model='anthropic.claude-3-haiku-20240307-v1:0', messages='refused'}
          return r
        end)
        return e.code, e2.code
        """

    @Test func recordsSuccessRetriedServiceErrorAndPolicyRefusal() async throws {
        let url = Self.temporaryLog()
        var policy = HostPolicy.permissive
        policy.allowedModels = ["amazon.*"]
        let rig = try await Self.start(AuditLog(file: url), policy: policy)
        let codes = try await rig.host.evaluate(Self.script, name: "@audited.lua")
        #expect(codes == [.string("InternalServerException"), .string("PolicyViolation")])
        let seen = rig.emulator.requests
        await rig.stop()

        let records = try Self.records(url)
        try #require(records.count == 4)
        let (ok, retried, failed, refused) = (records[0], records[1], records[2], records[3])
        #expect(ok["kind"] as? String == "call")
        #expect(ok["outcome"] as? String == "success")
        #expect(ok["operation"] as? String == "Converse")
        #expect(ok["model"] as? String == "amazon.nova-micro-v1:0")
        #expect(ok["script"] as? String == "audited.lua")
        #expect(ok["line"] as? Int == 1)
        #expect(ok["region"] as? String == "us-east-1")
        #expect(ok["endpoint_host"] as? String == "127.0.0.1")
        #expect((ok["tokens_in"] as? Int ?? 0) > 0)
        #expect((ok["tokens_out"] as? Int ?? 0) > 0)
        #expect(ok["latency_ms"] is Int)
        #expect(ok["content"] as? Bool == false)
        #expect((ok["request_sha256"] as? String)?.count == 64)
        #expect((ok["response_sha256"] as? String)?.count == 64)
        let principal = try #require(ok["principal"] as? [String: Any])
        #expect(principal["key_id"] as? String == "test")
        #expect(principal["source"] as? String == "emulator")
        // Every record of one host carries one run id; the first anchors on it.
        let runId = try #require(ok["run_id"] as? String)
        #expect(records.allSatisfy { $0["run_id"] as? String == runId })
        #expect(ok["prev"] as? String == AuditLog.anchor(runId: runId))

        // A service error retried to success: each attempt's request id and outcome.
        let attempts = try #require(retried["attempts"] as? [[String: Any]])
        #expect(attempts.count == 3)
        #expect(attempts.map { $0["code"] as? String } == ["InternalServerException", "InternalServerException", nil])
        #expect(attempts.map { $0["outcome"] as? String } == ["serviceError", "serviceError", "success"])
        #expect(retried["outcome"] as? String == "success")
        #expect(retried["line"] as? Int == 3)
        // The same request ids the server logged: client and server records can be matched.
        let serverIds = Set(seen.map(\.requestID))
        let clientIds = records.flatMap {
            ($0["attempts"] as? [[String: Any]] ?? []).compactMap { $0["request_id"] as? String }
        }
        #expect(clientIds.count == 1 + 3 + 2)
        #expect(clientIds.allSatisfy { serverIds.contains($0) })

        #expect(failed["outcome"] as? String == "InternalServerException")
        #expect(failed["line"] as? Int == 6)
        #expect((failed["attempts"] as? [Any])?.count == 2)
        #expect(failed["response_sha256"] is NSNull)

        #expect(refused["kind"] as? String == "refusal")
        #expect(refused["outcome"] as? String == "PolicyViolation")
        #expect(refused["policy_rule"] as? String == "allowedModels")
        #expect(refused["model"] as? String == "anthropic.claude-3-haiku-20240307-v1:0")
        #expect((refused["attempts"] as? [Any])?.isEmpty == true)
        #expect(refused["line"] as? Int == 10)
        // The refused call never reached the server.
        #expect(!seen.contains { $0.model == "anthropic.claude-3-haiku-20240307-v1:0" })

        // No content by default, and the chain checks out.
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(!text.contains("secretive"))
        let report = AuditVerifier.verify(try Data(contentsOf: url))
        #expect(report.isIntact, "\(report)")
        #expect(report.records == 4)
    }

    @Test func contentModeIncludesThePromptAndSaysSo() async throws {
        let url = Self.temporaryLog()
        let rig = try await Self.start(AuditLog(file: url, includeContent: true))
        _ = try await rig.host.evaluate(
            "return bedrock.converse{model='amazon.nova-micro-v1:0', messages='hello secretive prompt'}.text")
        await rig.stop()
        let record = try #require(try Self.records(url).first)
        #expect(record["content"] as? Bool == true)
        #expect((record["request"] as? String)?.contains("hello secretive prompt") == true)
        let response = try #require(record["response"] as? String)
        #expect(AuditLog.sha256Hex(Array(response.utf8)) == record["response_sha256"] as? String)
    }

    @Test func theLogIsCreatedOwnerOnlyAndAnExistingLogIsContinued() async throws {
        let url = Self.temporaryLog()
        for _ in 0..<2 {
            let rig = try await Self.start(AuditLog(file: url))
            _ = try await rig.host.evaluate("bedrock.converse{model='amazon.nova-micro-v1:0', messages='x'}")
            await rig.stop()
        }
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let records = try Self.records(url)
        #expect(records.count == 2)
        #expect(records[0]["run_id"] as? String != records[1]["run_id"] as? String)
        #expect(AuditVerifier.verify(try Data(contentsOf: url)).isIntact)
    }

    @Test func aLogThatCannotBeOpenedStopsTheHostBeforeAnyCall() async throws {
        let (emulator, endpoint) = try await BedrockEmulator.started()
        let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken)
        // A missing directory, a symbolic link, and a file others can read are all refused.
        let link = Self.temporaryLog()
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: Self.temporaryLog().path)
        let open = Self.temporaryLog()
        FileManager.default.createFile(atPath: open.path, contents: nil, attributes: [.posixPermissions: 0o644])
        for (file, reason) in [
            (URL(fileURLWithPath: "/nonexistent-dir/audit.jsonl"), "No such file"),
            (link, "symbolic link"), (open, "mode 644"),
        ] {
            var options = QuarryHost.Options(output: { _ in })
            options.audit = AuditLog(file: file)
            await #expect {
                _ = try await QuarryHost(target: target, options: options)
            } throws: { error in
                "\(error)".contains(file.path) && "\(error)".contains(reason)
            }
        }
        #expect(emulator.requests.isEmpty)
        await emulator.stop()
    }

    @Test func aFileThatDoesNotEndInARecordIsNotContinued() throws {
        // An existing 0600 file that is not a log (garbage, a key file, a JSON line that is
        // not a record, a record edited after the fact) is refused and left untouched.
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
        for content in ["garbage\n", key, #"{"run_id":"r","prev":"p","hash":"h"}"# + "\n", "\n"] {
            let url = Self.temporaryLog()
            FileManager.default.createFile(
                atPath: url.path, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600])
            #expect {
                try AuditLog(file: url).checkWritable()
            } throws: { error in
                "\(error)".contains("the audit log '\(url.path)' does not end in an audit record")
            }
            #expect(try Data(contentsOf: url) == Data(content.utf8))
        }
    }

    @Test(.enabled(if: geteuid() == 0, "only root can give a file to another user"))
    func aLogOwnedByAnotherUserIsRefused() throws {
        let url = Self.temporaryLog()
        FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try FileManager.default.setAttributes([.ownerAccountID: 65534], ofItemAtPath: url.path)
        #expect {
            try AuditLog(file: url).checkWritable()
        } throws: { error in
            "\(error)".contains("the audit log '\(url.path)' belongs to another user (uid 65534)")
        }
    }

    @Test func aLogRemovedRenamedOrReplacedDuringARunStopsFurtherCalls() async throws {
        // The host keeps the file open; records written to a file no longer at the path
        // would be lost, so the next record fails and later calls are refused.
        for change in ["remove", "rename", "replace"] {
            let url = Self.temporaryLog()
            let rig = try await Self.start(AuditLog(file: url))
            _ = try await rig.host.evaluate("bedrock.converse{model='amazon.nova-micro-v1:0', messages='x'}")
            let moved = Self.temporaryLog()
            if change == "remove" {
                try FileManager.default.removeItem(at: url)
            } else {
                try FileManager.default.moveItem(at: url, to: moved)
            }
            if change == "replace" {
                FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            let results = try await rig.host.evaluate(
                """
                local r = {}
                for i = 1, 2 do
                  local ok, e = pcall(bedrock.converse, {model='amazon.nova-micro-v1:0', messages='x'})
                  r[i] = ok and 'sent' or e.code
                end
                return r[1], r[2]
                """)
            await rig.stop()
            #expect(results == [.string("sent"), .string("AuditLogFailed")], "\(change)")
            if change != "remove" { #expect(try Self.records(moved).count == 1, "\(change)") }
            if change == "replace" { #expect(try Data(contentsOf: url).isEmpty) }
        }
    }

    @Test func summaryTextNeverCarriesTerminalEscapes() {
        let line =
            #"{"kind":"call","time":"2026-12-05T10:00:00Z","principal":{"key_id":"test","source":"emulator"},"model":"x\u001b]0;pwned\u0007","outcome":"success","tokens_in":3,"tokens_out":4}"#
        let summary = AuditSummary(Data((line + "\n").utf8))
        #expect(summary.rows.count == 1)
        #expect(summary.rows.first?.tokensIn == 3)
        #expect(!summary.text.contains("\u{1B}"))
        #expect(!summary.text.contains("\u{07}"))
        #expect(summary.text.contains("x?]0;pwned?"))
    }

    /// A summary line of one forged record (the summary reads any record; `verify` is what
    /// checks the chain).
    static func forged(model: String = "amazon.nova-micro-v1:0", tokensIn: String = "3", tokensOut: String = "4")
        -> String
    {
        #"{"kind":"call","time":"2026-12-05T10:00:00Z","principal":{"key_id":"test","source":"emulator"},"model":"\#(model)","outcome":"success","tokens_in":\#(tokensIn),"tokens_out":\#(tokensOut)}"#
            + "\n"
    }

    @Test func summaryOfHugeOrNegativeTokenCountsNeitherTrapsNorSubtracts() {
        // Two records at Int64.max used to overflow `tokensIn +=` and kill the process.
        let huge = Self.forged(tokensIn: "9223372036854775807", tokensOut: "9223372036854775807")
        let summary = AuditSummary(Data((huge + huge + Self.forged()).utf8))
        #expect(summary.rows.first?.calls == 3)
        #expect(summary.rows.first?.tokensIn == Int.max)
        #expect(summary.rows.first?.tokensOut == Int.max)
        // A negative count is not summed: the record's tokens are left out, with a note naming the line.
        let negative = AuditSummary(Data((Self.forged() + Self.forged(tokensIn: "-1000", tokensOut: "5")).utf8))
        #expect(negative.rows.first?.calls == 2)
        #expect(negative.rows.first?.tokensIn == 3)
        #expect(negative.rows.first?.tokensOut == 4)
        #expect(negative.notes == ["line 2: a negative token count; its tokens are not counted"])
    }

    @Test func summaryCSVAndTextNeutralizeFormulasEscapesAndBidiOverrides() throws {
        // A script chooses the model names policy refusals record.
        let models = [
            #"=HYPERLINK(\"http://evil.example\",\"x\")"#, "@SUM(1+1)", "+1", "-2", #"\tx"#,
            #"amazon.\u001b[2J\u001b]0;pwned\u0007x"#, #"amazon.nova\u202Eevil"#,
        ]
        let summary = AuditSummary(Data(models.map { Self.forged(model: $0) }.joined().utf8))
        #expect(summary.rows.count == models.count)
        let csv = summary.csv
        for bad in ["\u{1B}", "\u{07}", "\u{202E}", "\t"] {
            #expect(!csv.contains(bad))
            #expect(!summary.text.contains(bad))
        }
        // No cell starts a formula: every model cell starts with a quote mark or a letter.
        let cells = csv.split(separator: "\r\n").dropFirst().map { String($0.split(separator: ",")[2]) }
        #expect(cells.count == models.count)
        for cell in cells {
            let first = try #require(cell.first)
            #expect(first == "'" || first == "\"" && cell.dropFirst().first == "'" || first.isLetter, "\(cell)")
        }
        #expect(csv.contains(",'@SUM(1+1),"))
        #expect(csv.contains(#","'=HYPERLINK(""http://evil.example"""#))
        #expect(csv.contains(",amazon.nova?evil,"))
        #expect(summary.text.contains("amazon.nova?evil"))
        #expect(summary.text.contains("amazon.?[2J?]0;pwned?x"))
    }

    @Test func verifyAndSummaryReadTheFileLineByLineAndRefuseAnEndlessLine() throws {
        // One line over the limit, then a record. The reader never holds the long line:
        // verify names it as too long, summary leaves it out with a note and reads on.
        let url = Self.temporaryLog()
        var data = Data(repeating: UInt8(ascii: "a"), count: AuditVerifier.maxLineBytes + 1)
        data.append(0x0A)
        data.append(Data(Self.forged().utf8))
        try data.write(to: url)
        let report = try AuditVerifier.verify(fileAt: url)
        #expect(report.badLine == 1)
        #expect(report.records == 0)
        #expect(report.problem == "the record is too long (over \(AuditVerifier.maxLineBytes) bytes)")
        #expect(AuditVerifier.verify(data) == report)
        let summary = try AuditSummary(contentsOf: url)
        #expect(summary.rows.first?.calls == 1)
        #expect(summary.notes == ["line 1: longer than \(AuditVerifier.maxLineBytes) bytes; not read"])
        #expect(throws: AuditLogError.self) {
            try AuditVerifier.verify(fileAt: URL(fileURLWithPath: "/nonexistent-dir/audit.jsonl"))
        }
    }

    @Test func verifyReportsACutShortLastRecord() async throws {
        let url = Self.temporaryLog()
        let rig = try await Self.start(AuditLog(file: url))
        _ = try await rig.host.evaluate("bedrock.converse{model='amazon.nova-micro-v1:0', messages='x'}")
        await rig.stop()
        var data = try Data(contentsOf: url)
        #expect(AuditVerifier.verify(data).isIntact)
        data.removeLast(10)
        let report = AuditVerifier.verify(data)
        #expect(report.badLine == 1)
        #expect(report.problem?.contains("incomplete") == true)
    }

    @Test func aRoleIsNamedOnlyWhenItMadeTheCredentials() async throws {
        // Keys in the environment win over the profile's role_arn: no role was assumed,
        // so the record names the environment and no role.
        let (emulator, endpoint) = try await BedrockEmulator.started()
        let config = Self.temporaryLog().deletingPathExtension().appendingPathExtension("ini")
        try
            "[default]\nrole_arn = arn:aws:iam::123456789012:role/Unused\nsource_profile = base\n[profile base]\nregion = us-east-1\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let environment = [
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": config.path, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        ]
        let target = try QuarryTarget.aws(endpoint: endpoint.url, environment: environment)
        let url = Self.temporaryLog()
        var options = QuarryHost.Options(output: { _ in })
        options.audit = AuditLog(file: url)
        let host = try await QuarryHost(target: target, options: options)
        _ = try await host.evaluate("bedrock.converse{model='amazon.nova-micro-v1:0', messages='x'}")
        await host.shutdown()
        await emulator.stop()
        let record = try #require(try Self.records(url).first)
        let principal = try #require(record["principal"] as? [String: Any])
        #expect(principal["source"] as? String == "environment")
        #expect(principal["key_id"] as? String != nil)
        #expect(principal["role_arn"] == nil)
        #expect(record["outcome"] as? String == "success")
    }

    @Test func twoHostsSharingALogKeepOneChain() async throws {
        // Each write chains onto the file's real last line (under an exclusive lock), so
        // hosts writing the same file at once interleave without breaking the chain.
        let url = Self.temporaryLog()
        let first = try await Self.start(AuditLog(file: url))
        let second = try await Self.start(AuditLog(file: url))
        let script =
            "parallel("
            + Array(
                repeating: "function() bedrock.converse{model='amazon.nova-micro-v1:0', messages='p'} end", count: 4
            ).joined(separator: ", ") + ")"
        async let a = first.host.evaluate(script)
        async let b = second.host.evaluate(script)
        _ = try await (a, b)
        await first.stop()
        await second.stop()
        let records = try Self.records(url)
        #expect(records.count == 8)
        #expect(Set(records.compactMap { $0["run_id"] as? String }).count == 2)
        let report = AuditVerifier.verify(try Data(contentsOf: url))
        #expect(report.isIntact, "\(report)")
    }
}
