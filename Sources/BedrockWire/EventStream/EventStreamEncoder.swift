import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes event-stream messages in the exact wire form: prelude (total length,
/// headers length, prelude CRC), headers in the given order, payload, message CRC.
///
/// Refuses what a conforming decoder would reject: header names outside 1–255 bytes,
/// string and byte-array values over 32767 bytes (the most AWS's own encoders write),
/// and headers or payloads over the limits.
public struct EventStreamEncoder: Sendable {
    /// Largest string or byte-array header value written, as AWS's encoders cap it.
    public static let maxHeaderValueLength = Int(Int16.max)

    /// The limits applied to what is written.
    public let limits: EventStreamLimits

    /// An encoder applying `limits` (by default 128 KiB of headers and 16 MiB of payload).
    public init(limits: EventStreamLimits = .standard) {
        self.limits = limits
    }

    /// The encoded bytes of `message`.
    public func encode(_ message: EventStreamMessage) throws(EventStreamEncodingError) -> ByteBuffer {
        var buffer = ByteBuffer()
        try encode(message, into: &buffer)
        return buffer
    }

    /// Appends the encoded bytes of `message` to `buffer`.
    public func encode(_ message: EventStreamMessage, into buffer: inout ByteBuffer) throws(EventStreamEncodingError) {
        let headersLength = try Self.encodedLength(of: message.headers)
        guard headersLength <= limits.maxHeadersLength else {
            throw .headersTooLong(length: headersLength, limit: limits.maxHeadersLength)
        }
        let payloadLength = message.payload.readableBytes
        guard payloadLength <= limits.maxPayloadLength else {
            throw .payloadTooLong(length: payloadLength, limit: limits.maxPayloadLength)
        }
        let totalLength = Prelude.overhead + headersLength + payloadLength
        buffer.reserveCapacity(minimumWritableBytes: totalLength)
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(totalLength))
        buffer.writeInteger(UInt32(headersLength))
        let base = start - buffer.readerIndex  // the message's offset among the readable bytes
        let preludeCRC = buffer.withUnsafeReadableBytes { raw in
            CRC32.update(0, UnsafeRawBufferPointer(rebasing: raw[base..<(base + 8)]))
        }
        buffer.writeInteger(preludeCRC)
        for header in message.headers { Self.write(header, into: &buffer) }
        buffer.writeImmutableBuffer(message.payload)
        let messageCRC = buffer.withUnsafeReadableBytes { raw in
            // The message CRC covers everything before it, the prelude CRC included.
            let from = base + 8
            return CRC32.update(preludeCRC, UnsafeRawBufferPointer(rebasing: raw[from..<(base + totalLength - 4)]))
        }
        buffer.writeInteger(messageCRC)
    }

    /// The number of bytes `headers` take on the wire; throws on a name or value that
    /// cannot be encoded.
    public static func encodedLength(of headers: [EventStreamHeader]) throws(EventStreamEncodingError) -> Int {
        var length = 0
        for header in headers {
            let nameLength = header.name.utf8.count
            guard (1...255).contains(nameLength) else {
                throw .invalidHeaderNameLength(name: header.name, byteCount: nameLength)
            }
            length += 1 + nameLength + 1
            switch header.value {
            case .bool: break
            case .byte: length += 1
            case .short: length += 2
            case .int: length += 4
            case .long, .timestamp: length += 8
            case .uuid: length += 16
            case .bytes(let bytes):
                guard bytes.count <= maxHeaderValueLength else {
                    throw .headerValueTooLong(name: header.name, byteCount: bytes.count, limit: maxHeaderValueLength)
                }
                length += 2 + bytes.count
            case .string(let text):
                let count = text.utf8.count
                guard count <= maxHeaderValueLength else {
                    throw .headerValueTooLong(name: header.name, byteCount: count, limit: maxHeaderValueLength)
                }
                length += 2 + count
            }
        }
        return length
    }

    static func write(_ header: EventStreamHeader, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(truncatingIfNeeded: header.name.utf8.count))
        buffer.writeString(header.name)
        buffer.writeInteger(header.value.typeID)
        switch header.value {
        case .bool: break
        case .byte(let v): buffer.writeInteger(v)
        case .short(let v): buffer.writeInteger(v)
        case .int(let v): buffer.writeInteger(v)
        case .long(let v): buffer.writeInteger(v)
        case .timestamp(let ms): buffer.writeInteger(ms)
        case .bytes(let bytes):
            buffer.writeInteger(UInt16(truncatingIfNeeded: bytes.count))
            buffer.writeBytes(bytes)
        case .string(let text):
            buffer.writeInteger(UInt16(truncatingIfNeeded: text.utf8.count))
            buffer.writeString(text)
        case .uuid(let uuid):
            buffer.writeBytes(withUnsafeBytes(of: uuid.uuid) { Array($0) })
        }
    }
}
