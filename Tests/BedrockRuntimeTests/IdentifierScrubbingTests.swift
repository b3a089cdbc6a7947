import Testing

@testable import BedrockRuntime

/// Issue 22: request ids are checked without running the scrubber's patterns when none
/// could match; the shortcut must refuse exactly what the full scrub would change.
@Suite struct IdentifierScrubbingTests {
    static let sentToken = "idTok-77310-zq"

    @Test("the shortcut for identifiers agrees with the full scrub")
    func shortcutAgrees() {
        ServiceTextScrubber.remember(sentTokens: [Self.sentToken])
        let hex64 = String(repeating: "ab", count: 32)
        let cases: [(String, Bool)] = [
            ("0e3f5a9c-1b2d-4e6f-8a7b-9c0d1e2f3a4b", false),
            ("req-1234:abc#7/x.y_z", false),
            ("The-String-to-Sign", true),
            ("Authorization:AWS4-HMAC-SHA256", true),
            ("x-amz-security-token:abcdef", true),
            ("id-\(hex64)", true),
            (String(repeating: "A", count: 100), true),
            ("id-\(Self.sentToken)-1", true),
            (String(repeating: "a1-", count: 30), false),
            // A server echoing the caller's access key id (the audit of 2026-12-06).
            ("AKIAIOSFODNN7EXAMPLE", true),
            ("req-ASIAIOSFODNN7EXAMPLE", true),
            ("AKIA-not-a-key-id", false),
        ]
        for (text, changes) in cases {
            #expect((ServiceTextScrubber.scrub(text) != text) == changes, "\(text)")
            #expect(ServiceTextScrubber.scrubWouldChange(identifier: text) == changes, "\(text)")
            #expect(ServiceTextScrubber.identifier(text, fallback: "F") == (changes ? "F" : text), "\(text)")
        }
    }

    /// The byte search that replaced `lowercased().contains` answers as it did.
    @Test func theByteSearchAgreesWithFoundation() {
        let texts = [
            "", "s", "string", "STRING", "xStRiNg", "strin", "a-string-b", "stringstring", "sstring", "tokeN",
            "TOKEN:abc", "tok-en", "Authorization", "authorizatio", "x-amz-security-TOKEN", "req-1234:abc#7/x.y_z",
        ]
        for text in texts {
            #expect(
                ServiceTextScrubber.containsIgnoringASCIICase(text, "string") == text.lowercased().contains("string"),
                "\(text)")
            #expect(
                ServiceTextScrubber.containsIgnoringASCIICase(text, "token") == text.lowercased().contains("token"),
                "\(text)")
            #expect(
                ServiceTextScrubber.containsIgnoringASCIICase(text, "authorization")
                    == text.lowercased().contains("authorization"), "\(text)")
        }
    }

    /// The byte table that replaced the `CharacterSet` refuses what it refused.
    @Test func identifiersOutsideTheAllowedCharactersAreRefused() {
        for text in ["req é1", "req-é1", "ｒeq", "req id", "req\u{0}", "req=1", "req+1", "req\n", "🙂"] {
            #expect(ServiceTextScrubber.identifier(text, fallback: "F") == "F", "\(text)")
        }
        for text in ["Req-1.2_3:4#5/6", "a", String(repeating: "z", count: 63)] {
            #expect(ServiceTextScrubber.identifier(text, fallback: "F") == text, "\(text)")
        }
    }
}
