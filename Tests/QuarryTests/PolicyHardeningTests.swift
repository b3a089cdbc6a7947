import BedrockEmulator
import Foundation
import Logging
import Quarry
import Testing

/// Issue 16, rows 7, 8, 11 and 12: credentials go only to servers the policy names, budgets
/// count InvokeModel, credential lookups and clients are bounded, and service text is
/// scrubbed before a script sees it. Real emulator, real HTTP on 127.0.0.1.
@Suite struct EndpointPolicyTests {
    /// Asks `bedrock.client{endpoint=…}` for each URL and returns "ok" or the error code.
    private func verdicts(_ policy: HostPolicy, _ urls: [String]) async throws -> [String: String] {
        try await HostHarness.with(policy: policy) { h in
            var out: [String: String] = [:]
            for url in urls {
                let escaped = url.unicodeScalars.map { s -> String in
                    (0x20...0x7E).contains(s.value) && s != "'" && s != "\\" ? String(Character(s)) : "\\u{\(String(s.value, radix: 16))}"
                }.joined()
                let r = try await h.value("""
                    local ok, e = pcall(bedrock.client, {endpoint='\(escaped)'})
                    if ok then return 'ok' end
                    return e.code .. ': ' .. e.message
                    """)
                out[url] = r.stringValue ?? "?"
            }
            return out
        }
    }

    @Test func hostPatternsMatchParsedURLsLabelByLabel() async throws {
        let policy = HostPolicy(allowedEndpoints: ["http://*.corp.example", "https://**.deep.example:*"])
        let allowed = [
            "http://api.corp.example",
            "http://API.Corp.EXAMPLE",
            "http://api.corp.example.",
            "http://api.corp.example:80",
            "http://api.corp.example/base/path",
            "http://xn--bcher-kva.corp.example",
            "https://a.deep.example:8443",
            "https://a.b.c.deep.example",
        ]
        let refused = [
            "http://attacker:9999/.corp.example",            // the issue's row 7: '*' crossed '/'
            "http://attacker.example/.corp.example",
            "http://127.0.0.1:9/x.corp.example",
            "http://a.corp.example@attacker.example",         // user info
            "http://attacker.example#.corp.example",          // fragment
            "http://attacker.example?.corp.example",          // query
            "http://attacker.example\\.corp.example",         // backslash
            "http://a.b.corp.example",                        // '*' is one label
            "http://corp.example",
            "http://.corp.example",
            "https://api.corp.example",                       // scheme
            "http://api.corp.example:8080",                   // port
            "http://api.corp.example:080",
            "http://api.corp.example.attacker.example",
            "http://api%2ecorp.example",                      // percent-encoding
            "http://attacker.example%2f.corp.example",
            "ftp://api.corp.example",
            "javascript://api.corp.example",
            "http://bücher.corp.example",                    // IDNA must be punycode
            "http://api.corp.example\n",
            "http://api.corp.example ",
            "http://api.corp.example..",
            "https://deep.example",                           // '**' is at least one label
        ]
        let v = try await verdicts(policy, allowed + refused)
        for url in allowed { #expect(v[url] == "ok", "\(url): \(v[url] ?? "")") }
        for url in refused { #expect(v[url]?.hasPrefix("PolicyViolation: ") == true, "\(url): \(v[url] ?? "")") }
    }

    @Test func ipLiteralsMustBeCanonical() async throws {
        let policy = HostPolicy(allowedEndpoints: ["http://127.0.0.1:*", "http://[::1]:9"])
        let allowed = ["http://127.0.0.1:9", "http://127.0.0.1.:9", "http://[::1]:9", "http://[0:0:0:0:0:0:0:1]:9"]
        let refused = [
            "http://127.1:9", "http://0x7f.0.0.1:9", "http://2130706433:9", "http://127.000.000.001:9",
            "http://0177.0.0.1:9", "http://127.0.0.1.attacker.example:9", "http://127.0.0.01:9", "http://127.0.0.256:9",
            "http://attacker.0x7f:9", "http://[::1%25eth0]:9", "http://[::2]:9", "http://[::1]:10", "http://::1:9",
            "http://[127.0.0.1]:9", "https://127.0.0.1:9",
        ]
        let v = try await verdicts(policy, allowed + refused)
        for url in allowed { #expect(v[url] == "ok", "\(url): \(v[url] ?? "")") }
        for url in refused { #expect(v[url]?.hasPrefix("PolicyViolation: ") == true, "\(url): \(v[url] ?? "")") }
    }

    @Test func theClientUsesTheCanonicalURLThatWasChecked() async throws {
        try await HostHarness.with(policy: HostPolicy(allowedEndpoints: ["http://127.0.0.1:*"])) { h in
            let own = (h.target.emulatorAdmin?.url ?? "").replacingOccurrences(of: "127.0.0.1", with: "127.0.0.1.")
            let r = try await h.value("""
                local c = bedrock.client{endpoint='\(own)/'}
                return c:converse{model='\(haiku)', messages='canonical'}.text
                """)
            #expect(r.stringValue?.contains("canonical") == true)
        }
    }

    @Test func badPatternsAreRefusedWhenTheHostIsMade() async throws {
        for pattern in ["http://*.corp.example/path", "corp.example", "http://a@corp.example", "http://127.1", "http://x:0"] {
            let emulator = BedrockEmulator(logger: HostHarness.quietLogger)
            let endpoint = try await emulator.start()
            let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken)
            await #expect(throws: ScriptError.self, "\(pattern)") {
                _ = try await QuarryHost(target: target, options: .init(policy: HostPolicy(allowedEndpoints: [pattern])))
            }
            await emulator.stop()
        }
    }
}

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
            let r = try await h.value("""
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
        try "[profile counted]\nregion = us-east-1\ncredential_process = \(script)\n".write(toFile: config, atomically: true, encoding: .utf8)

        var configuration = EmulatorConfiguration()
        configuration.credentials = [EmulatorCredential(accessKeyID: "AKIAPROCESS000005678",
                                                        secretAccessKey: "processSecretKey0000000000000000000000000")]
        let emulator = BedrockEmulator(configuration: configuration, logger: HostHarness.quietLogger)
        let endpoint = try await emulator.start()
        let environment = ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": "counted",
                           "AWS_REGION": "us-east-1", "HOME": dir.path]
        let target = try QuarryTarget.aws(endpoint: endpoint.url, environment: environment)
        let host = try await QuarryHost(target: target)
        let r = try await host.evaluate("""
            local ids = {}
            for i = 1, 200 do ids[i] = i end
            local seen = map(ids, function() return bedrock.identity().access_key_id end, {concurrency = 200})
            local text = bedrock.converse{model='\(haiku)', messages='signed by the process'}.text
            return {first = seen[1], last = seen[200], n = #seen, text = text, again = bedrock.identity().access_key_id}
            """, name: "=identity").first ?? .nil
        await host.shutdown()
        await emulator.stop()
        #expect(r.field("n") == 200)
        #expect(r.field("first") == "AKIA…5678" && r.field("last") == "AKIA…5678" && r.field("again") == "AKIA…5678")
        #expect(r.field("text").stringValue?.contains("signed by the process") == true)
        let runs = (try? String(contentsOfFile: counter, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(runs == 1, "credential_process ran \(runs) times")
    }
}

@Suite struct ServiceTextScrubbingTests {
    static let sessionToken = "CANARYsessionTOKEN-IQoJb3JpZ2luX2VjEJrSCRUB"
    static let keyID = "AKIASCRUB00000001234"

    /// The emulator, like AWS, answers a bad signature with the canonical request and string
    /// to sign it expected, session token included. The script sees none of it.
    @Test func invalidSignatureDumpsNeverReachScripts() async throws {
        var configuration = EmulatorConfiguration()
        configuration.credentials = [EmulatorCredential(accessKeyID: Self.keyID, secretAccessKey: "theRealSecretKey000000000000000000000000",
                                                        sessionToken: Self.sessionToken)]
        let emulator = BedrockEmulator(configuration: configuration, logger: HostHarness.quietLogger)
        let endpoint = try await emulator.start()
        let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken,
                                           credentials: SigV4Credentials(accessKeyId: Self.keyID,
                                                                         secretAccessKey: "aWrongSecretKey0000000000000000000000000",
                                                                         sessionToken: Self.sessionToken))
        let logs = TextSink(), output = TextSink()
        let host = try await QuarryHost(target: target, options: .init(
            output: output.write, logger: Logger(label: "scrub") { _ in CapturingLogHandler(sink: logs) }))
        let r = try await host.evaluate("""
            local ok, e = pcall(bedrock.converse, {model='\(haiku)', messages='x'})
            log.error('failed', e)
            print(e)
            return {code = e.code, message = e.message, text = tostring(e)}
            """, name: "=scrub").first ?? .nil
        await host.shutdown()
        await emulator.stop()
        #expect(r.field("code") == "InvalidSignatureException")
        let message = r.field("message").stringValue ?? ""
        #expect(message.hasPrefix("The request signature we calculated does not match"))
        #expect(message.contains("[redacted]"))
        for text in [message, r.field("text").stringValue ?? "", logs.text, output.text] {
            #expect(!text.contains("CANARYsession"))
            #expect(!text.contains("x-amz-security-token:"))
            #expect(text.range(of: "[0-9a-f]{64}", options: .regularExpression) == nil)
        }
    }

    @Test func mediaTypesAreVisibleASCII() async throws {
        try await HostHarness.with { h in
            let before = h.emulator.requests.count
            let r = try await h.value("""
                local out = {}
                local body = {anthropic_version='bedrock-2023-05-31', max_tokens=5, messages={ {role='user', content='hi'} }}
                for _, case in ipairs{
                  {content_type = 'application/json\\r\\nX-Evil: 1'}, {accept = 'application/json\\n'},
                  {accept = 'text/\\u{e9}'}, {content_type = '\\u{a0}application/json'}, {content_type = ''},
                  {content_type = 'application/json\\0'}, {accept = 5}, {accept = (' '):rep(10)},
                } do
                  local args = {model='\(haiku)', body=body}
                  for k, v in pairs(case) do args[k] = v end
                  local ok, e = pcall(bedrock.invoke, args)
                  local field = next(case)
                  out[#out + 1] = (not ok and e.code == 'ValidationError' and e.message:find(field, 1, true)) and 'refused' or 'NOT REFUSED'
                end
                out[#out + 1] = bedrock.invoke{model='\(haiku)', body=body, accept='application/json', content_type='application/json'}.json.type
                return out
                """)
            #expect(r == .array(["refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused", "message"]))
            #expect(h.emulator.requests.count - before == 1)
        }
    }
}

@Suite struct TokenBudgetTests {
    static let body = "{anthropic_version='bedrock-2023-05-31', max_tokens=30, messages={ {role='user', content='Tell me about budgets'} }}"

    @Test func invokeIsSettledFromTheServiceHeaders() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 100)) { h in
            let r = try await h.value("""
                local r = bedrock.invoke{model='\(haiku)', body=\(Self.body)}
                local after = bedrock.budget().tokens_used
                local ok, e = pcall(bedrock.invoke, {model='\(haiku)', body=\(Self.body)})
                local ok2 = ok and pcall(bedrock.invoke, {model='\(haiku)', body=\(Self.body)})
                return {usage = r.usage, json = r.json.usage, after = after, refused = not (ok and ok2),
                        final = bedrock.budget().tokens_used}
                """)
            let input = r.field("usage").field("input_tokens").int ?? -1
            let output = r.field("usage").field("output_tokens").int ?? -1
            #expect(input > 0 && output > 0)
            // The headers agree with the body's own usage.
            #expect(r.field("json").field("input_tokens").int == input)
            #expect(r.field("json").field("output_tokens").int == output)
            #expect(r.field("after").int == input + output)
            #expect(r.field("refused") == true)
            #expect((r.field("final").int ?? 0) <= 100)
        }
    }

    @Test func invokeStreamIsSettledFromTheInvocationMetrics() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 100)) { h in
            let r = try await h.value("""
                local s = bedrock.invoke_stream{model='\(haiku)', body=\(Self.body)}
                local last
                for ev in s do if ev.json then last = ev.json end end
                local m = last['amazon-bedrock-invocationMetrics']
                local after = bedrock.budget().tokens_used
                return {metrics = m, usage = s.result.usage, after = after}
                """)
            let metrics = r.field("metrics")
            let input = metrics.field("inputTokenCount").int ?? -1
            let output = metrics.field("outputTokenCount").int ?? -1
            #expect(input > 0 && output > 0)
            #expect(metrics.field("invocationLatency").int != nil && metrics.field("firstByteLatency").int != nil)
            #expect(r.field("usage").field("input_tokens").int == input)
            #expect(r.field("after").int == input + output)
        }
    }

    @Test func converseReservesItsInputBeforeSending() async throws {
        try await HostHarness.with(policy: HostPolicy(tokenBudget: 1_000)) { h in
            let before = h.emulator.requests.count
            let r = try await h.value("""
                local ok, e = pcall(bedrock.converse, {model='\(haiku)', messages=('word '):rep(50000), inference={max_tokens=10}})
                return {ok = ok, code = e and e.code, message = e and e.message}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "PolicyViolation")
            #expect(r.field("message").stringValue?.contains("token budget of 1000 would be exceeded") == true)
            #expect(h.emulator.requests.count == before)
        }
    }
}
