import BedrockEmulator
import EmulatorTestSupport
import Foundation
import Logging
import Quarry
import TestSupport
import Testing

@Suite struct ServiceTextScrubbingTests {
    static let sessionToken = "CANARYsessionTOKEN-IQoJb3JpZ2luX2VjEJrSCRUB"
    static let keyID = "AKIASCRUB00000001234"

    /// The emulator, like AWS, answers a bad signature with the canonical request and string
    /// to sign it expected, session token included. The script sees none of it.
    @Test func invalidSignatureDumpsNeverReachScripts() async throws {
        var configuration = EmulatorConfiguration()
        configuration.credentials = [
            EmulatorCredential(
                accessKeyID: Self.keyID, secretAccessKey: "theRealSecretKey000000000000000000000000",
                sessionToken: Self.sessionToken)
        ]
        let (emulator, endpoint) = try await BedrockEmulator.started(configuration)
        let target = QuarryTarget.emulator(
            url: endpoint.url, adminToken: emulator.adminToken,
            credentials: SigV4Credentials(
                accessKeyId: Self.keyID,
                secretAccessKey: "aWrongSecretKey0000000000000000000000000",
                sessionToken: Self.sessionToken))
        let logs = TextSink(), output = TextSink()
        let host = try await QuarryHost(
            target: target,
            options: .init(
                output: output.write, logger: CapturingLogHandler.logger("scrub", into: logs)))
        let r =
            try await host.evaluate(
                """
                local ok, e = pcall(bedrock.converse, {model='\(haiku)', messages='x'})
                log.error('failed', e)
                print(e)
                return {code = e.code, message = e.message, text = tostring(e)}
                """, name: "=scrub"
            ).first ?? .nil
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
            let r = try await h.value(
                """
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
            #expect(
                r
                    == .array([
                        "refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused",
                        "message",
                    ]))
            #expect(h.emulator.requests.count - before == 1)
        }
    }
}
