import BedrockEmulator
import EmulatorTestSupport
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
                    (0x20...0x7E).contains(s.value) && s != "'" && s != "\\"
                        ? String(Character(s)) : "\\u{\(String(s.value, radix: 16))}"
                }.joined()
                let r = try await h.value(
                    """
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
            "http://attacker:9999/.corp.example",  // the issue's row 7: '*' crossed '/'
            "http://attacker.example/.corp.example",
            "http://127.0.0.1:9/x.corp.example",
            "http://a.corp.example@attacker.example",  // user info
            "http://attacker.example#.corp.example",  // fragment
            "http://attacker.example?.corp.example",  // query
            "http://attacker.example\\.corp.example",  // backslash
            "http://a.b.corp.example",  // '*' is one label
            "http://corp.example",
            "http://.corp.example",
            "https://api.corp.example",  // scheme
            "http://api.corp.example:8080",  // port
            "http://api.corp.example:080",
            "http://api.corp.example.attacker.example",
            "http://api%2ecorp.example",  // percent-encoding
            "http://attacker.example%2f.corp.example",
            "ftp://api.corp.example",
            "javascript://api.corp.example",
            "http://bücher.corp.example",  // IDNA must be punycode
            "http://api.corp.example\n",
            "http://api.corp.example ",
            "http://api.corp.example..",
            "https://deep.example",  // '**' is at least one label
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
            let r = try await h.value(
                """
                local c = bedrock.client{endpoint='\(own)/'}
                return c:converse{model='\(haiku)', messages='canonical'}.text
                """)
            #expect(r.stringValue?.contains("canonical") == true)
        }
    }

    @Test func badPatternsAreRefusedWhenTheHostIsMade() async throws {
        for pattern in [
            "http://*.corp.example/path", "corp.example", "http://a@corp.example", "http://127.1", "http://x:0",
        ] {
            let (emulator, endpoint) = try await BedrockEmulator.started()
            let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken)
            await #expect(throws: ScriptError.self, "\(pattern)") {
                _ = try await QuarryHost(
                    target: target, options: .init(policy: HostPolicy(allowedEndpoints: [pattern])))
            }
            await emulator.stop()
        }
    }
}
