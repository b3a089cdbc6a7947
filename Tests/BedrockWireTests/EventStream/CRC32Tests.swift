import BedrockWire
import Foundation
import NIOCore
import QuarryFuzzSupport
import Testing

/// CRC-32.
@Suite struct CRC32Tests {
    /// Bit-at-a-time reference, to check the slice-by-8 tables against.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    @Test func checkValueOfTheStandard() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func agreesWithBitwiseReferenceAtEveryLengthAndChains() {
        var mutator = EventStreamMutator(seed: 32)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: mutator.next()) }
            let whole = CRC32.checksum(bytes)
            #expect(whole == Self.reference(bytes), "length \(length)")
            let cut = mutator.below(length + 1)
            let chained = bytes[cut...].withUnsafeBytes { tail in
                CRC32.update(CRC32.checksum(bytes[..<cut]), tail)
            }
            #expect(chained == whole, "length \(length) cut at \(cut)")
        }
    }
}
