import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`): the checksum that guards an
/// event-stream message's prelude and the message as a whole.
///
/// Uses libdeflate's `libdeflate_crc32` when the shared library is installed (Debian's
/// `libdeflate0`; carry-less multiplication on x86-64 and arm64, several GB/s even on
/// event-sized buffers), loaded at run time so that building never needs it; otherwise
/// a slice-by-8 table lookup in Swift. Both compute the same standard CRC-32.
/// Checksums chain like zlib's `crc32`: `update(update(0, a), b)` equals the checksum
/// of `a` followed by `b`.
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
        if let accelerated = Accelerated.crc32 {
            return accelerated(crc, base, bytes.count)
        }
        return tableUpdate(crc, base, bytes.count)
    }

    /// Which implementation runs: `libdeflate` or `slice-by-8` (for benchmarks and logs).
    public static var implementation: String { Accelerated.crc32 == nil ? "slice-by-8" : "libdeflate" }

    /// The slice-by-8 table implementation (always available; tests compare the two).
    static func tableChecksum(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return tableUpdate(crc, base, bytes.count)
    }

    /// libdeflate's CRC-32, looked up once.
    enum Accelerated {
        typealias Function = @convention(c) (UInt32, UnsafeRawPointer?, Int) -> UInt32
        static let crc32: Function? = {
            #if os(Linux)
                let names = ["libdeflate.so.0", "libdeflate.so"]
            #else
                let names = ["libdeflate.0.dylib", "libdeflate.dylib"]
            #endif
            for name in names {
                guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
                if let symbol = dlsym(handle, "libdeflate_crc32") {
                    let function = unsafeBitCast(symbol, to: Function.self)
                    // Trust it only if it agrees with the table on the standard check value.
                    let check = Array("123456789".utf8)
                    let value = check.withUnsafeBytes { function(0, $0.baseAddress, $0.count) }
                    if value == 0xCBF4_3926 { return function }
                }
                dlclose(handle)
            }
            return nil
        }()
    }

    private static func tableUpdate(_ crc: UInt32, _ base: UnsafeRawPointer, _ count: Int) -> UInt32 {
        return table.withUnsafeBufferPointer { tablePointer -> UInt32 in
            // The table is never empty (8 × 256 entries), so the base address exists;
            // bail out to the untouched CRC rather than force-unwrapping.
            guard let t = tablePointer.baseAddress else { return crc }
            var c = ~crc
            var p = base
            var remaining = count
            // Align nothing: loadUnaligned reads eight bytes from any address.
            while remaining >= 8 {
                let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ c
                let high = UInt32(truncatingIfNeeded: word &>> 32)
                c =
                    t[7 &* 256 &+ Int(low & 0xFF)]
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
