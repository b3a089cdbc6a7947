import NIOCore

/// Turns the bytes of an AWS event stream, arriving in buffers of any size, into
/// messages.
///
/// Feed it with `append(_:)` and drain it with `nextMessage()` until that returns nil;
/// when the input ends, call `finish()`, which throws if the stream stopped inside a
/// message. Splitting the same bytes differently always gives the same messages.
///
/// Copies: a message that lies inside one appended buffer is returned as slices of that
/// buffer (its payload is not copied at all); the bytes of a message that straddles
/// buffers are copied once, into a buffer sized for that message from its prelude.
/// Limits are checked on the 12-byte prelude, before anything is buffered.
///
/// Errors are typed (`EventStreamDecodingError`) and name the problem and the message's
/// offset in the stream. After an error the decoder stays failed.
public struct EventStreamDecoder: Sendable {
    /// The size limits this decoder enforces.
    public let limits: EventStreamLimits

    /// Bytes of an unfinished message that came from earlier buffers (each copied once).
    private var carry: ByteBuffer?
    /// The unread rest of the most recently appended buffer (not copied).
    private var input = ByteBuffer()
    /// Stream offset of the first byte not yet returned as part of a message.
    private var streamOffset = 0
    /// Set once decoding failed; every later call throws it again.
    private var failure: EventStreamDecodingError?

    /// A decoder enforcing `limits` (by default 128 KiB of headers and 16 MiB of payload).
    public init(limits: EventStreamLimits = .standard) {
        self.limits = limits
    }

    /// Number of bytes received but not yet returned as messages.
    public var bufferedByteCount: Int { (carry?.readableBytes ?? 0) + input.readableBytes }

    /// Adds the next bytes of the stream. Cheap: the buffer is kept, not copied, unless
    /// earlier bytes are still waiting to be decoded.
    public mutating func append(_ bytes: ByteBuffer) {
        guard failure == nil, bytes.readableBytes > 0 else { return }
        if input.readableBytes > 0 {
            moveToCarry(input.readableBytes)
        }
        input = bytes
    }

    /// Adds the next bytes of the stream from any byte sequence (copied into a buffer).
    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        append(ByteBuffer(bytes: bytes))
    }

    /// The next complete message, or nil when more bytes are needed.
    public mutating func nextMessage() throws(EventStreamDecodingError) -> EventStreamMessage? {
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            throw error
        }
    }

    /// Declares the end of the stream. Throws `truncated` if bytes of an unfinished
    /// message remain; call it after `nextMessage()` has returned nil.
    public mutating func finish() throws(EventStreamDecodingError) {
        if let failure { throw failure }
        let buffered = bufferedByteCount
        guard buffered > 0 else { return }
        var expected: Int?
        if let carry, carry.readableBytes >= Prelude.size {
            expected = carry.getInteger(at: carry.readerIndex, as: UInt32.self).map(Int.init)
        } else if carry == nil, input.readableBytes >= Prelude.size {
            expected = input.getInteger(at: input.readerIndex, as: UInt32.self).map(Int.init)
        }
        let error = EventStreamDecodingError(
            .truncated(bufferedBytes: buffered, expectedBytes: expected), streamOffset: streamOffset)
        failure = error
        throw error
    }

    /// Decodes a complete body (all of a stream's bytes) into its messages; throws if
    /// any message is malformed or the body ends inside one.
    public static func decodeAll(_ body: ByteBuffer, limits: EventStreamLimits = .standard)
        throws(EventStreamDecodingError) -> [EventStreamMessage]
    {
        var decoder = EventStreamDecoder(limits: limits)
        decoder.append(body)
        var messages: [EventStreamMessage] = []
        while let message = try decoder.nextMessage() { messages.append(message) }
        try decoder.finish()
        return messages
    }

    // MARK: - Decoding

    private mutating func decodeNext() throws(EventStreamDecodingError) -> EventStreamMessage? {
        if carry != nil {
            return try decodeFromCarry()
        }
        guard input.readableBytes >= Prelude.size else { return nil }
        let prelude = try readPrelude(input)
        guard input.readableBytes >= prelude.totalLength else { return nil }
        let message = try Self.decodeMessage(from: &input, prelude, streamOffset: streamOffset)
        streamOffset += prelude.totalLength
        return message
    }

    /// Completes the message in `carry` with bytes from `input`, then decodes it.
    private mutating func decodeFromCarry() throws(EventStreamDecodingError) -> EventStreamMessage? {
        guard var pending = carry else { return nil }
        carry = nil  // keep `pending` uniquely referenced while it grows
        defer { if pending.readableBytes > 0 { carry = pending } }
        if pending.readableBytes < Prelude.size {
            take(Prelude.size - pending.readableBytes, into: &pending)
            guard pending.readableBytes >= Prelude.size else { return nil }
        }
        let prelude = try readPrelude(pending)
        if pending.readableBytes < prelude.totalLength {
            let missing = prelude.totalLength - pending.readableBytes
            if pending.writableBytes < missing {
                pending.reserveCapacity(minimumWritableBytes: missing)
            }
            take(missing, into: &pending)
            guard pending.readableBytes >= prelude.totalLength else { return nil }
        }
        let message = try Self.decodeMessage(from: &pending, prelude, streamOffset: streamOffset)
        streamOffset += prelude.totalLength
        return message
    }

    /// Moves up to `count` bytes from the front of `input` to the end of `pending`.
    private mutating func take(_ count: Int, into pending: inout ByteBuffer) {
        let n = min(count, input.readableBytes)
        guard n > 0, let slice = input.readSlice(length: n) else { return }
        pending.writeImmutableBuffer(slice)
    }

    /// Moves the first `count` unread bytes of `input` into `carry`, sized for the whole
    /// message when its prelude is already there.
    private mutating func moveToCarry(_ count: Int) {
        var pending = carry ?? ByteBuffer()
        carry = nil
        var capacity = pending.readableBytes + count
        if pending.readableBytes == 0, count >= Prelude.size, let prelude = try? readPrelude(input) {
            // Reserve for the whole message, once its prelude has passed the CRC and the
            // limits (a bad prelude is reported by the next `nextMessage()`).
            capacity = max(capacity, prelude.totalLength)
        }
        if pending.writableBytes < capacity - pending.readableBytes {
            pending.reserveCapacity(minimumWritableBytes: capacity - pending.readableBytes)
        }
        take(count, into: &pending)
        carry = pending
    }

    /// Reads and checks the prelude at the front of `buffer` (which holds ≥ 12 bytes).
    private func readPrelude(_ buffer: ByteBuffer) throws(EventStreamDecodingError) -> Prelude {
        let fields = buffer.withUnsafeReadableBytes { raw -> (UInt32, UInt32, UInt32, UInt32) in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian,
             raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).bigEndian,
             raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).bigEndian,
             CRC32.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<8])))
        }
        let (total, headers, expectedCRC, computedCRC) = fields
        func fail(_ reason: EventStreamDecodingError.Reason) -> EventStreamDecodingError {
            EventStreamDecodingError(reason, streamOffset: streamOffset)
        }
        guard expectedCRC == computedCRC else {
            throw fail(.preludeChecksumMismatch(expected: expectedCRC, computed: computedCRC))
        }
        guard total >= UInt32(Prelude.overhead) else { throw fail(.messageTooShort(totalLength: total)) }
        guard headers <= total - UInt32(Prelude.overhead) else {
            throw fail(.headersLengthExceedsMessage(headersLength: headers, totalLength: total))
        }
        let headersLength = Int(headers)
        let payloadLength = Int(total) - Prelude.overhead - headersLength
        guard headersLength <= limits.maxHeadersLength else {
            throw fail(.headersTooLong(length: headersLength, limit: limits.maxHeadersLength))
        }
        guard payloadLength <= limits.maxPayloadLength else {
            throw fail(.payloadTooLong(length: payloadLength, limit: limits.maxPayloadLength))
        }
        return Prelude(totalLength: Int(total), headersLength: headersLength, crc: computedCRC)
    }

    /// Checks the message CRC, parses the headers and slices out the payload of the
    /// message at the front of `buffer` (which holds all of it), consuming it.
    private static func decodeMessage(from buffer: inout ByteBuffer, _ prelude: Prelude, streamOffset: Int)
        throws(EventStreamDecodingError) -> EventStreamMessage
    {
        let parsed = buffer.withUnsafeReadableBytes { raw -> Result<[EventStreamHeader], EventStreamDecodingError.Reason> in
            // The message CRC covers everything before it, the prelude CRC included.
            let crcEnd = prelude.totalLength - 4
            let expected = raw.loadUnaligned(fromByteOffset: crcEnd, as: UInt32.self).bigEndian
            let computed = CRC32.update(prelude.crc, UnsafeRawBufferPointer(rebasing: raw[8..<crcEnd]))
            guard expected == computed else {
                return .failure(.messageChecksumMismatch(expected: expected, computed: computed))
            }
            let headerBytes = UnsafeRawBufferPointer(
                rebasing: raw[Prelude.size..<(Prelude.size + prelude.headersLength)])
            return HeaderParser.parse(headerBytes)
        }
        let headers: [EventStreamHeader]
        switch parsed {
        case .success(let value): headers = value
        case .failure(let reason): throw EventStreamDecodingError(reason, streamOffset: streamOffset)
        }
        let payloadLength = prelude.totalLength - Prelude.overhead - prelude.headersLength
        let payload = buffer.getSlice(
            at: buffer.readerIndex + Prelude.size + prelude.headersLength, length: payloadLength) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: prelude.totalLength)
        return EventStreamMessage(headers: headers, payload: payload)
    }
}

/// The 12-byte prelude of a message: total length, headers length, and its CRC.
struct Prelude {
    /// Bytes in the prelude (two lengths and the prelude CRC).
    static let size = 12
    /// Bytes of a message that are neither headers nor payload (prelude + message CRC).
    static let overhead = 16

    var totalLength: Int
    var headersLength: Int
    var crc: UInt32
}

/// Parses a headers section, checking every length against the bytes that remain.
enum HeaderParser {
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<[EventStreamHeader], EventStreamDecodingError.Reason> {
        var headers: [EventStreamHeader] = []
        headers.reserveCapacity(4)
        let end = bytes.count
        var i = 0
        while i < end {
            let nameLength = Int(bytes[i])
            let nameStart = i + 1
            guard nameLength <= end - nameStart else {
                return .failure(.headerNameOverrun(offset: i, nameLength: nameLength, remaining: end - nameStart))
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameLength)])
            guard let name = InternedStrings.string(nameBytes) ?? String(validating: nameBytes, as: UTF8.self) else {
                return .failure(.invalidHeaderNameUTF8(offset: i))
            }
            i = nameStart + nameLength
            guard i < end else {
                return .failure(.headerValueOverrun(headerName: name, needed: 1, remaining: 0))
            }
            let typeID = bytes[i]
            i += 1
            func fixed(_ size: Int) -> Bool { size <= end - i }
            let value: EventStreamHeaderValue
            switch typeID {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2:
                guard fixed(1) else { return .failure(.headerValueOverrun(headerName: name, needed: 1, remaining: end - i)) }
                value = .byte(Int8(bitPattern: bytes[i]))
                i += 1
            case 3:
                guard fixed(2) else { return .failure(.headerValueOverrun(headerName: name, needed: 2, remaining: end - i)) }
                value = .short(Int16(bitPattern: bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self).bigEndian))
                i += 2
            case 4:
                guard fixed(4) else { return .failure(.headerValueOverrun(headerName: name, needed: 4, remaining: end - i)) }
                value = .int(Int32(bitPattern: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).bigEndian))
                i += 4
            case 5, 8:
                guard fixed(8) else { return .failure(.headerValueOverrun(headerName: name, needed: 8, remaining: end - i)) }
                let raw = Int64(bitPattern: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self).bigEndian)
                value = typeID == 5 ? .long(raw) : .timestamp(milliseconds: raw)
                i += 8
            case 6, 7:
                guard fixed(2) else { return .failure(.headerValueOverrun(headerName: name, needed: 2, remaining: end - i)) }
                let length = Int(bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self).bigEndian)
                i += 2
                guard fixed(length) else {
                    return .failure(.headerValueOverrun(headerName: name, needed: length, remaining: end - i))
                }
                let valueBytes = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + length)])
                i += length
                if typeID == 6 {
                    value = .bytes(Array(valueBytes))
                } else {
                    guard let text = InternedStrings.string(valueBytes) ?? String(validating: valueBytes, as: UTF8.self) else {
                        return .failure(.invalidStringUTF8(headerName: name))
                    }
                    value = .string(text)
                }
            case 9:
                guard fixed(16) else { return .failure(.headerValueOverrun(headerName: name, needed: 16, remaining: end - i)) }
                var uuid = UUIDBytes.zero
                withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 16)])) }
                value = .uuid(UUID(uuid: uuid))
                i += 16
            default:
                return .failure(.unknownHeaderType(typeID: typeID, headerName: name))
            }
            headers.append(EventStreamHeader(name: name, value: value))
        }
        return .success(headers)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The 16-byte tuple `UUID(uuid:)` takes.
enum UUIDBytes {
    static let zero: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// Header names and values every Bedrock message repeats, returned as string literals
/// (immortal, so no allocation or reference counting) instead of a new `String` each time.
enum InternedStrings {
    /// The literal equal to `bytes`, or nil when it is not one of the common ones.
    @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress else { return nil }
        @inline(__always)
        func equals(_ literal: StaticString) -> Bool {
            // Callers only compare literals of the same length as `bytes`.
            memcmp(literal.utf8Start, base, literal.utf8CodeUnitCount) == 0
        }
        switch bytes.count {
        case 5:
            if equals("event") { return "event" }
            if equals("chunk") { return "chunk" }
            if equals("error") { return "error" }
        case 8:
            if equals("metadata") { return "metadata" }
        case 9:
            if equals("exception") { return "exception" }
        case 11:
            if equals(":event-type") { return ":event-type" }
            if equals("messageStop") { return "messageStop" }
            if equals(":error-code") { return ":error-code" }
        case 12:
            if equals("messageStart") { return "messageStart" }
        case 13:
            if equals(":message-type") { return ":message-type" }
            if equals(":content-type") { return ":content-type" }
        case 14:
            if equals(":error-message") { return ":error-message" }
        case 15:
            if equals(":exception-type") { return ":exception-type" }
        case 16:
            if equals("application/json") { return "application/json" }
            if equals("contentBlockStop") { return "contentBlockStop" }
            if equals("initial-response") { return "initial-response" }
        case 17:
            if equals("contentBlockDelta") { return "contentBlockDelta" }
            if equals("contentBlockStart") { return "contentBlockStart" }
        default:
            break
        }
        return nil
    }
}
