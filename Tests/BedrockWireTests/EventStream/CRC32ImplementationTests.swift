import TestSupport
import Testing

@testable import BedrockWire

/// The accelerated CRC-32 (libdeflate, when installed) and the slice-by-8 table agree on
/// every length and alignment, and both give the standard check value.
@Suite struct CRC32ImplementationTests {
    @Test("check value of \"123456789\" is 0xCBF43926")
    func checkValue() {
        let bytes = Array("123456789".utf8)
        #expect(CRC32.checksum(bytes) == 0xCBF4_3926)
        #expect(bytes.withUnsafeBytes { CRC32.tableChecksum(0, $0) } == 0xCBF4_3926)
    }

    @Test("accelerated and table checksums agree on lengths 0…600 at every alignment, chained too")
    func agreement() {
        var generator = SplitMix64(seed: 0x5EED)
        let data = (0..<700).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var compared = 0
        data.withUnsafeBytes { all in
            for offset in 0..<8 {
                for length in 0...600 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    let fast = CRC32.update(0, slice)
                    let table = CRC32.tableChecksum(0, slice)
                    #expect(fast == table, "length \(length) at offset \(offset) (\(CRC32.implementation))")
                    let cut = length / 3
                    let chained = CRC32.update(
                        CRC32.update(0, UnsafeRawBufferPointer(rebasing: slice[0..<cut])),
                        UnsafeRawBufferPointer(rebasing: slice[cut...]))
                    #expect(chained == table)
                    compared += 1
                }
            }
        }
        print("CRC-32 (\(CRC32.implementation)) compared with the table on \(compared) buffers")
    }
}
