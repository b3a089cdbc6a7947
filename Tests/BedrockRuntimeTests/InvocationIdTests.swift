import Foundation
import Testing

@testable import BedrockRuntime

/// Issue 22: invocation ids come from a seeded sequence instead of `UUID()`; they must
/// still be lowercase version-4 UUIDs, and never repeat.
@Suite struct InvocationIdTests {
    @Test("invocation ids are distinct lowercase version-4 UUIDs")
    func shape() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let id = InvocationId.make()
            #expect(id.count == 36)
            #expect(id == id.lowercased())
            #expect(UUID(uuidString: id) != nil, "\(id)")
            let characters = Array(id)
            #expect(characters[14] == "4", "\(id)")
            #expect("89ab".contains(characters[19]), "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 2000)
    }
}
