import Synchronization

/// `amz-sdk-invocation-id` values: random version-4 UUIDs in lowercase, as botocore sends.
///
/// One per call; they only need to be unique, so they come from a SplitMix64 sequence
/// seeded once from the system's generator (which is a system call per value: `UUID()`
/// cost more than the rest of the call's headers).
enum InvocationId {
    private static let state = Mutex<UInt64>(UInt64.random(in: .min ... .max))

    /// A fresh id, such as `3f2b8c1e-9d4a-4e7b-a1c2-5d6e7f809a1b`.
    static func make() -> String {
        let (high, low) = state.withLock { s in (next(&s), next(&s)) }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * i))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func next(_ s: inout UInt64) -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
