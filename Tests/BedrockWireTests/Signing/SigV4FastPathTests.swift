import Testing

@testable import BedrockWire

/// The byte-level fast paths of the signer give exactly what the general code gives.
@Suite struct SigV4FastPathTests {
    static let urls = [
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        "HTTPS://Bedrock-Runtime.US-EAST-1.amazonaws.com:443/model/m/converse-stream",
        "http://127.0.0.1:8080/model/m/invoke?b=2&a=1",
        "http://localhost:80/",
        "http://localhost:0080/x",
        "http://host:/p",
        "https://host",
        "https://host?x=1",
        "https://host/a/./b/../c//d/",
    ]

    @Test("the ASCII URL split equals the general parser", arguments: urls)
    func urlSplit(url: String) throws {
        let fast = try SigV4URL(url)
        let general = try SigV4URL(characters: url)
        #expect(fast == general)
    }

    @Test("dot segments: normal paths come back unchanged, others are still resolved")
    func dotSegments() {
        #expect(SigV4Canonicalization.removeDotSegments("/model/m%3A0/converse") == "/model/m%3A0/converse")
        #expect(SigV4Canonicalization.removeDotSegments("/a/") == "/a/")
        #expect(SigV4Canonicalization.removeDotSegments("/...") == "/...")
        #expect(SigV4Canonicalization.removeDotSegments("/a/./b/../c") == "/a/c")
        #expect(SigV4Canonicalization.removeDotSegments("/a//b") == "/a/b")
        #expect(SigV4Canonicalization.removeDotSegments("/a/..") == "/")
        #expect(SigV4Canonicalization.removeDotSegments("a/b") == "a/b")
    }

    @Test("header values: already trimmed ones come back unchanged, others are normalised")
    func trimming() {
        #expect(SigV4Canonicalization.trimAll("application/json") == "application/json")
        #expect(SigV4Canonicalization.trimAll("a b c") == "a b c")
        #expect(SigV4Canonicalization.trimAll("") == "")
        #expect(SigV4Canonicalization.trimAll("  a   b \t c  ") == "a b c")
        #expect(SigV4Canonicalization.trimAll("a\u{0B}b") == "a b")
        #expect(SigV4Canonicalization.trimAll("x\u{00A0}y") == "x y")
    }

    @Test("header names compare case-insensitively, ASCII or not")
    func names() {
        #expect("X-Amz-Date".caseInsensitiveEquals("x-amz-date"))
        #expect(!"X-Amz-Date".caseInsensitiveEquals("x-amz-datf"))
        #expect("ÄB".caseInsensitiveEquals("äb"))
        #expect(!"host".caseInsensitiveEquals("hosts"))
    }
}
