import BedrockWire
import Foundation
import Testing

/// Date forms used by signing.
@Suite struct SigV4TimestampTests {
    @Test func formatsAndParsesTheSigningForms() {
        let stamp = SigV4Timestamp(secondsSince1970: 1_718_886_896)
        #expect(stamp.amzDate == "20240620T123456Z")
        #expect(stamp.scopeDate == "20240620")
        #expect(stamp.rfc2822 == "Thu, 20 Jun 2024 12:34:56 -0000")
        #expect(SigV4Timestamp(amzDate: "20240620T123456Z") == stamp)
        #expect(SigV4Timestamp(httpDate: "Thu, 20 Jun 2024 12:34:56 GMT") == stamp)
        #expect(SigV4Timestamp(httpDate: "Thu, 20 Jun 2024 14:34:56 +0200") == stamp)
        #expect(SigV4Timestamp(amzDate: "20231231T235959Z")?.rfc2822 == "Sun, 31 Dec 2023 23:59:59 -0000")
        #expect(SigV4Timestamp(amzDate: "2024-06-20T12:34:56Z") == nil)
        #expect(SigV4Timestamp(amzDate: "20241320T123456Z") == nil)
        #expect(SigV4Timestamp(httpDate: "yesterday") == nil)
        #expect(SigV4Timestamp(secondsSince1970: 0).rfc2822 == "Thu, 01 Jan 1970 00:00:00 -0000")
        #expect(SigV4Timestamp(secondsSince1970: 951_782_400).amzDate == "20000229T000000Z")
    }
}
