import BedrockEmulator
import EmulatorTestSupport
import Foundation
import Logging
import Quarry
import TestSupport
import Testing

/// Credentials never reach Lua. The host signs with canary secrets; scripts search every
/// value they can reach (globals, tables, metatables' tostrings, errors, results,
/// identity, log lines, print output) and the test searches everything they produced.
@Suite struct CredentialCanaryTests {
    static let secret = "CANARYsecretKEY0000000000000000000000000"
    static let sessionToken = "CANARYsessionTOKEN-IQoJb3JpZ2luX2VjEJr"
    static let bearer = "CANARYbearerTOKEN-ABSKQmVkcm9jaw"
    static let keyID = "AKIACANARY0000001234"

    /// A script that walks everything reachable and prints it, calling every function it
    /// finds with hostile arguments, and returns what it saw.
    static let snoop = #"""
        local seen, out = {}, {}
        local function note(v) out[#out + 1] = tostring(v) end
        local function walk(v, depth)
          if depth > 6 or seen[v] then return end
          local t = type(v)
          note(v)
          if t == 'table' then
            seen[v] = true
            local mt = getmetatable(v)
            if mt ~= nil then note(mt); if type(mt) == 'table' then walk(mt, depth + 1) end end
            for k, x in pairs(v) do note(k); walk(x, depth + 1) end
          elseif t == 'userdata' then
            seen[v] = true
            note(getmetatable(v))
          end
        end
        walk(_G, 0)
        local c = bedrock.client{}
        walk(c, 0)
        local tries = {
          function() return bedrock.identity() end,
          function() return c:identity() end,
          function() return bedrock.converse{model='anthropic.claude-3-haiku-20240307-v1:0', messages='hello'} end,
          function() return bedrock.converse{model='no.such-model', messages='x'} end,
          function() return bedrock.converse{} end,
          function() return bedrock.stream{model='anthropic.claude-3-haiku-20240307-v1:0', messages='s'}:collect() end,
          function() return bedrock.invoke{model='anthropic.claude-3-haiku-20240307-v1:0', body='not json'} end,
          function() return bedrock.client{endpoint='http://127.0.0.1:1'}:converse{model='anthropic.claude-3-haiku-20240307-v1:0', messages='x'} end,
          function() return bedrock.client{region='us-west-2'}:converse{model='anthropic.claude-3-haiku-20240307-v1:0', messages='x'} end,
          function() return bedrock.count_tokens{model='anthropic.claude-3-haiku-20240307-v1:0', messages='x'} end,
          function() return bedrock.models() end,
          function() return json.encode(c) end,
          function() return json.encode(_G) end,
        }
        for _, f in ipairs(tries) do
          local ok, r = pcall(f)
          walk(r, 0)
          log.info('result', ok, r)
          log.error('error path', r)
        end
        for _, name in ipairs{'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_BEARER_TOKEN_BEDROCK'} do
          note(os.getenv and os.getenv(name))
        end
        print(table.concat(out, '\n'))
        return out
        """#

    private func scan(_ texts: [String], label: String) {
        for text in texts {
            for canary in [
                Self.secret, Self.sessionToken, Self.bearer, "CANARYsecret", "CANARYsession", "CANARYbearer",
            ] {
                #expect(!text.contains(canary), "\(label) leaked \(canary)")
            }
        }
    }

    @Test func sigV4SecretsAndSessionTokensNeverReachScripts() async throws {
        var configuration = EmulatorConfiguration()
        configuration.credentials = [
            EmulatorCredential(
                accessKeyID: Self.keyID, secretAccessKey: Self.secret,
                sessionToken: Self.sessionToken)
        ]
        let (emulator, endpoint) = try await BedrockEmulator.started(configuration)
        let target = QuarryTarget.emulator(
            url: endpoint.url, adminToken: emulator.adminToken,
            credentials: SigV4Credentials(
                accessKeyId: Self.keyID, secretAccessKey: Self.secret,
                sessionToken: Self.sessionToken))
        let output = TextSink(), errors = TextSink(), logs = TextSink()
        var options = QuarryHost.Options(
            output: output.write, errorOutput: errors.write,
            logger: CapturingLogHandler.logger("canary", into: logs))
        // The audit log, with content, is scanned too.
        let auditFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "canary-audit-\(UUID().uuidString).jsonl")
        options.audit = AuditLog(file: auditFile, includeContent: true)
        let host = try await QuarryHost(target: target, options: options)
        let values = try await host.evaluate(Self.snoop, name: "=snoop")
        // The calls really were signed with the canary key (the emulator accepted them).
        #expect(emulator.requests.contains { $0.operation == "Converse" && $0.status == 200 })
        let identity = try await host.evaluate("return bedrock.identity().access_key_id").first
        #expect(identity == "AKIA…1234")
        await host.shutdown()
        let audit = try String(contentsOf: auditFile, encoding: .utf8)
        #expect(audit.contains("\"key_id\":\"AKIA…1234\""), "the audit log names the masked key")
        #expect(audit.contains("\"operation\":\"Converse\""))
        scan(
            [output.text, errors.text, logs.text, String(describing: values), target.description, audit], label: "sigv4"
        )
        #expect(output.text.contains("BedrockClient<us-east-1>"))
        await host.shutdown()
        await emulator.stop()
    }

    @Test func bearerTokensNeverReachScripts() async throws {
        var configuration = EmulatorConfiguration()
        configuration.bearerTokens = [Self.bearer]
        let (emulator, endpoint) = try await BedrockEmulator.started(configuration)
        let environment = [
            "AWS_BEARER_TOKEN_BEDROCK": Self.bearer, "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_SESSION_TOKEN": Self.sessionToken,
            "AWS_ACCESS_KEY_ID": Self.keyID,
        ]
        let target = try QuarryTarget.aws(endpoint: endpoint.url, environment: environment)
        let output = TextSink(), errors = TextSink(), logs = TextSink()
        var options = QuarryHost.Options(
            output: output.write, errorOutput: errors.write,
            logger: CapturingLogHandler.logger("canary", into: logs))
        // The audit log, with content, is scanned too.
        let auditFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "canary-audit-\(UUID().uuidString).jsonl")
        options.audit = AuditLog(file: auditFile, includeContent: true)
        let host = try await QuarryHost(target: target, options: options)
        let values = try await host.evaluate(Self.snoop, name: "=snoop")
        #expect(emulator.requests.contains { $0.operation == "Converse" && $0.status == 200 })
        await host.shutdown()
        let audit = try String(contentsOf: auditFile, encoding: .utf8)
        #expect(
            audit.contains("\"source\":\"bearer-token\""),
            "the audit log names the bearer token as the principal's source")
        scan(
            [output.text, errors.text, logs.text, String(describing: values), target.description, audit],
            label: "bearer")
        await host.shutdown()
        await emulator.stop()
    }
}
