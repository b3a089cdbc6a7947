import NIOCore

/// CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`): the checksum that guards an
/// event-stream message's prelude and the message as a whole.
///
/// Slice-by-8 table lookup: eight bytes per step, which keeps checksumming a small part
/// of decoding cost. Checksums chain like zlib's `crc32`: `update(update(0, a), b)`
/// equals the checksum of `a` followed by `b`.
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `crc` (the checksum of what came before, or 0).
    @inlinable
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        updateBytes(crc, bytes)
    }

    /// The CRC-32 of a byte sequence such as `[UInt8]` or a string's UTF-8.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let array = Array(bytes)
        return array.withUnsafeBytes { update(0, $0) }
    }

    /// The CRC-32 of the readable bytes of `buffer`, continuing from `crc`.
    @inlinable
    public static func update(_ crc: UInt32, _ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { update(crc, $0) }
    }

    @usableFromInline
    static func updateBytes(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return table.withUnsafeBufferPointer { tablePointer -> UInt32 in
            // The table is never empty (8 × 256 entries), so the base address exists;
            // bail out to the untouched CRC rather than force-unwrapping.
            guard let t = tablePointer.baseAddress else { return crc }
            var c = ~crc
            var p = base
            var remaining = bytes.count
            // Align nothing: loadUnaligned reads eight bytes from any address.
            while remaining >= 8 {
                let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ c
                let high = UInt32(truncatingIfNeeded: word &>> 32)
                c = t[7 &* 256 &+ Int(low & 0xFF)]
                    ^ t[6 &* 256 &+ Int((low &>> 8) & 0xFF)]
                    ^ t[5 &* 256 &+ Int((low &>> 16) & 0xFF)]
                    ^ t[4 &* 256 &+ Int(low &>> 24)]
                    ^ t[3 &* 256 &+ Int(high & 0xFF)]
                    ^ t[2 &* 256 &+ Int((high &>> 8) & 0xFF)]
                    ^ t[1 &* 256 &+ Int((high &>> 16) & 0xFF)]
                    ^ t[Int(high &>> 24)]
                p += 8
                remaining &-= 8
            }
            while remaining > 0 {
                let byte = p.load(as: UInt8.self)
                c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c &>> 8)
                p += 1
                remaining &-= 1
            }
            return ~c
        }
    }

    /// Eight 256-entry tables: table k maps a byte to its CRC contribution k bytes ahead.
    @usableFromInline
    static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
            t[n] = c
        }
        for n in 0..<256 {
            var c = t[n]
            for k in 1..<8 {
                c = t[Int(c & 0xFF)] ^ (c >> 8)
                t[k * 256 + n] = c
            }
        }
        return t
    }()
}
