import Foundation
import Testing

@testable import BedrockRuntime

/// Issue 21's audit: a ListObjectsV2 page of n objects took n² time to read (each step
/// searched the rest of the answer for `<Contents/>`); now one forward pass.
@Suite struct XMLElementsTests {
    @Test("a 1,000-object listing gives every block, in order")
    func thousandBlocks() {
        let items = (0..<1000).map { "<Contents><Key>k\($0)</Key><Size>\($0)</Size></Contents>" }.joined()
        let text =
            "<ListBucketResult><IsTruncated>true</IsTruncated>\(items)<NextContinuationToken>t</NextContinuationToken></ListBucketResult>"
        let blocks = XMLElements.blocks(named: "Contents", in: text)
        #expect(blocks.count == 1000)
        #expect(blocks.enumerated().allSatisfy { XMLElements.text(of: "Key", in: $0.element) == "k\($0.offset)" })
        #expect(XMLElements.text(of: "IsTruncated", in: text) == "true")
        #expect(XMLElements.text(of: "NextContinuationToken", in: text) == "t")
    }

    @Test("empty elements, longer names and unclosed elements")
    func edges() {
        let text = "<a><ContentsX>no</ContentsX><Contents/><Contents>one</Contents><Contents>unclosed"
        #expect(XMLElements.blocks(named: "Contents", in: text) == ["", "one"])
        #expect(XMLElements.text(of: "Missing", in: text) == nil)
        #expect(XMLElements.text(of: "Contents", in: "<Contents>a &amp; b</Contents>") == "a & b")
        #expect(XMLElements.blocks(named: "K", in: "<K>é</K><K>ü</K>") == ["é", "ü"])
    }
}
