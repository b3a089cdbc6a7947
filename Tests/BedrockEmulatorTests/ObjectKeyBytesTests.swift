import Foundation
import Testing

@testable import BedrockEmulator

/// Issue 21's audit: the emulator's S3 keyed objects by Swift `String`, so canonically
/// equivalent keys (`K` and the Kelvin sign, NFC and NFD) were one object; S3 keys are
/// bytes, and so are the emulator's now.
@Suite struct ObjectKeyBytesTests {
    @Test("keys that are canonically equivalent but different bytes are different objects")
    func equivalentKeysDoNotCollide() throws {
        let store = ObjectStore(byteCapacity: 1 << 20)
        #expect(store.createBucket("data"))
        try store.put(bucket: "data", key: "Kout/a", bytes: Array("plain".utf8))
        try store.put(bucket: "data", key: "\u{212A}out/a", bytes: Array("kelvin".utf8))
        try store.put(bucket: "data", key: "caf\u{E9}", bytes: Array("nfc".utf8))
        try store.put(bucket: "data", key: "cafe\u{301}", bytes: Array("nfd".utf8))
        #expect(store.get(bucket: "data", key: "Kout/a")?.bytes == Array("plain".utf8))
        #expect(store.get(bucket: "data", key: "\u{212A}out/a")?.bytes == Array("kelvin".utf8))
        #expect(store.get(bucket: "data", key: "caf\u{E9}")?.bytes == Array("nfc".utf8))
        #expect(store.get(bucket: "data", key: "cafe\u{301}")?.bytes == Array("nfd".utf8))
        #expect(store.list(bucket: "data", prefix: "")?.count == 4)
        // A prefix matches bytes too: `K` is not a prefix of the Kelvin sign's key.
        #expect(store.list(bucket: "data", prefix: "K")?.map(\.key) == ["Kout/a"])
    }
}
