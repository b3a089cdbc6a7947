import BedrockEmulator
import EmulatorTestSupport
import Foundation
import Logging
import Quarry
import Testing

@Suite struct ProfileAndClientPolicyTests {
    @Test func scriptsMayNotSwitchProfilesUnlessAllowed() async throws {
        let script = """
            local out = {}
            for _, p in ipairs{'default', 'prod', 'dev-1', 'dev 1'} do
              local ok, e = pcall(bedrock.client, {profile=p})
              out[#out + 1] = ok and 'ok' or e.code
            end
            return out
            """
        try await HostHarness.with { h in
            let r = try await h.value(script)
            #expect(r == .array(["PolicyViolation", "PolicyViolation", "PolicyViolation", "ValidationError"]))
        }
        try await HostHarness.with(policy: HostPolicy(allowedProfiles: ["dev-*"])) { h in
            let r = try await h.value(script)
            #expect(r == .array(["PolicyViolation", "PolicyViolation", "ok", "ValidationError"]))
        }
    }

    @Test func distinctClientsAreCapped() async throws {
        var policy = HostPolicy()
        policy.maxClients = 3
        try await HostHarness.with(policy: policy) { h in
            let r = try await h.value(
                """
                local out = {}
                for _, region in ipairs{'us-east-1', 'us-west-2', 'eu-west-1', 'us-west-2', 'ap-south-1'} do
                  local ok, e = pcall(bedrock.client, {region=region})
                  out[#out + 1] = ok and 'ok' or (e.code .. ': ' .. e.message)
                end
                out[#out + 1] = bedrock.client{}:converse{model='\(haiku)', messages='still fine'}.text ~= nil and 'default ok' or 'no'
                return out
                """)
            guard case .array(let items) = r else { Issue.record("no list"); return }
            let texts = items.compactMap(\.stringValue)
            #expect(Array(texts.prefix(4)) == ["ok", "ok", "ok", "ok"])
            #expect(texts[4].hasPrefix("LimitExceeded: bedrock.client: this host keeps at most 3 distinct clients"))
            #expect(texts[5] == "default ok")
        }
    }

    @Test func identityCountsAsAHostCall() async throws {
        var policy = HostPolicy()
        policy.limits.hostCalls = 50
        _ = try await HostHarness.with(policy: policy) { h in
            await #expect {
                _ = try await h.value("for i = 1, 100 do bedrock.identity() end")
            } throws: { error in
                if case LuaError.limit(.hostCalls, _) = error { return true }
                return false
            }
        }
    }

    /// A caller queued in a bulkhead polls for a slot at a growing interval: a 1.5 s wait
    /// costs a few dozen host calls, not one every 5 ms (300 at the old fixed interval).
    @Test func aBulkheadWaitStaysWithinTheHostCallLimit() async throws {
        var policy = HostPolicy()
        policy.limits.hostCalls = 120
        _ = try await HostHarness.with(policy: policy) { h in
            try await h.host.install(ResilienceModule())
            let order = try await h.value(
                """
                local b = resilience.bulkhead{max_concurrent = 1, queue_timeout = 10}
                local order = {}
                parallel(
                  function() b(function() sleep(1.5); order[#order + 1] = "first" end) end,
                  function() sleep(0.01); b(function() order[#order + 1] = "second" end) end)
                return table.concat(order, " ")
                """)
            #expect(order.stringValue == "first second")
        }
    }

    /// A `credential_process` profile whose process appends a line to a counter file each
    /// time it runs: identity() and calls share the client's cached credentials.
    @Test func identityUsesTheCachedCredentialProvider() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-cp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let counter = dir.appendingPathComponent("runs").path
        let script = dir.appendingPathComponent("creds.sh").path
        try """
        #!/bin/sh
        echo run >> '\(counter)'
        printf '{"Version": 1, "AccessKeyId": "AKIAPROCESS000005678", "SecretAccessKey": "processSecretKey0000000000000000000000000"}'
        """.write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script)
        let config = dir.appendingPathComponent("config").path
        try "[profile counted]\nregion = us-east-1\ncredential_process = \(script)\n".write(
            toFile: config, atomically: true, encoding: .utf8)

        var configuration = EmulatorConfiguration()
        configuration.credentials = [
            EmulatorCredential(
                accessKeyID: "AKIAPROCESS000005678",
                secretAccessKey: "processSecretKey0000000000000000000000000")
        ]
        let (emulator, endpoint) = try await BedrockEmulator.started(configuration)
        let environment = [
            "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": "counted",
            "AWS_REGION": "us-east-1", "HOME": dir.path,
        ]
        let target = try QuarryTarget.aws(endpoint: endpoint.url, environment: environment)
        let host = try await QuarryHost(target: target)
        let r =
            try await host.evaluate(
                """
                local ids = {}
                for i = 1, 200 do ids[i] = i end
                local seen = map(ids, function() return bedrock.identity().access_key_id end, {concurrency = 200})
                local text = bedrock.converse{model='\(haiku)', messages='signed by the process'}.text
                return {first = seen[1], last = seen[200], n = #seen, text = text, again = bedrock.identity().access_key_id}
                """, name: "=identity"
            ).first ?? .nil
        await host.shutdown()
        await emulator.stop()
        #expect(r.field("n") == 200)
        #expect(r.field("first") == "AKIA…5678" && r.field("last") == "AKIA…5678" && r.field("again") == "AKIA…5678")
        #expect(r.field("text").stringValue?.contains("signed by the process") == true)
        let runs = (try? String(contentsOfFile: counter, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(runs == 1, "credential_process ran \(runs) times")
    }
}
