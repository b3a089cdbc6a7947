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
/// buffers are copied into a buffer that grows as its bytes arrive: a prelude declaring
/// a large message reserves nothing up front, so a peer that announces 16 MiB and then
/// stalls costs only the bytes it actually sent. Limits are checked on the 12-byte
/// prelude, before anything is buffered.
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

    /// Bytes of storage the decoder holds for an unfinished message that straddles
    /// buffers: grows with the bytes received, never with what a prelude declares.
    public var carryCapacity: Int { carry?.capacity ?? 0 }

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
            // Grows with what arrives (amortised doubling), never to the declared size.
            take(prelude.totalLength - pending.readableBytes, into: &pending)
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

    /// Moves the first `count` unread bytes of `input` into `carry`. Only what arrived is
    /// stored: a prelude's declared length reserves nothing (a peer could declare 16 MiB
    /// and stall).
    private mutating func moveToCarry(_ count: Int) {
        var pending = carry ?? ByteBuffer()
        carry = nil
        take(count, into: &pending)
        carry = pending
    }

    /// Reads and checks the prelude at the front of `buffer` (which holds ≥ 12 bytes).
    private func readPrelude(_ buffer: ByteBuffer) throws(EventStreamDecodingError) -> Prelude {
        let result = buffer.withUnsafeReadableBytes { Self.readPrelude($0, limits: limits) }
        switch result {
        case .success(let prelude): return prelude
        case .failure(let reason): throw EventStreamDecodingError(reason, streamOffset: streamOffset)
        }
    }

    /// Reads and checks the prelude at the front of `raw` (which holds ≥ 12 bytes).
    @inline(__always)
    private static func readPrelude(_ raw: UnsafeRawBufferPointer, limits: EventStreamLimits)
        -> Result<Prelude, EventStreamDecodingError.Reason>
    {
        let total = raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian
        let headers = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).bigEndian
        let expectedCRC = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).bigEndian
        let computedCRC = CRC32.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<8]))
        guard expectedCRC == computedCRC else {
            return .failure(.preludeChecksumMismatch(expected: expectedCRC, computed: computedCRC))
        }
        guard total >= UInt32(Prelude.overhead) else { return .failure(.messageTooShort(totalLength: total)) }
        guard headers <= total - UInt32(Prelude.overhead) else {
            return .failure(.headersLengthExceedsMessage(headersLength: headers, totalLength: total))
        }
        let headersLength = Int(headers)
        let payloadLength = Int(total) - Prelude.overhead - headersLength
        guard headersLength <= limits.maxHeadersLength else {
            return .failure(.headersTooLong(length: headersLength, limit: limits.maxHeadersLength))
        }
        guard payloadLength <= limits.maxPayloadLength else {
            return .failure(.payloadTooLong(length: payloadLength, limit: limits.maxPayloadLength))
        }
        return .success(Prelude(totalLength: Int(total), headersLength: headersLength, crc: computedCRC))
    }

    /// Checks the message CRC and the headers of the whole message at the front of `raw`.
    @inline(__always)
    private static func checkMessage(_ raw: UnsafeRawBufferPointer, _ prelude: Prelude)
        -> Result<RawRoutingHeaders, EventStreamDecodingError.Reason>
    {
        // The message CRC covers everything before it, the prelude CRC included.
        let crcEnd = prelude.totalLength - 4
        let expected = raw.loadUnaligned(fromByteOffset: crcEnd, as: UInt32.self).bigEndian
        let computed = CRC32.update(prelude.crc, UnsafeRawBufferPointer(rebasing: raw[8..<crcEnd]))
        guard expected == computed else {
            return .failure(.messageChecksumMismatch(expected: expected, computed: computed))
        }
        return HeaderParser.check(
            UnsafeRawBufferPointer(rebasing: raw[Prelude.size..<(Prelude.size + prelude.headersLength)]))
    }

    // MARK: - Decoding in place

    /// Decodes every complete message received so far and shows each to `body` in
    /// place, as a view of the received bytes: nothing is allocated or reference-counted
    /// per message. The view is valid only during the call; `makeMessage()` keeps one.
    ///
    /// Decoding errors are thrown as `EventStreamDecodingError` (the decoder stays
    /// failed, as with `nextMessage()`); an error thrown by `body` stops decoding after
    /// that message. Call `finish()` at the end of the stream as usual.
    public mutating func decodeAvailable(_ body: (EventStreamMessageView) throws -> Void) throws {
        if let failure { throw failure }
        // A message that straddles buffers is completed the ordinary way first.
        while carry != nil {
            guard let message = try nextMessage() else { return }
            try message.withView(body)
        }
        guard input.readableBytes >= Prelude.size else { return }
        let buffer = input
        let limits = self.limits
        // Only locals change inside the loop; the decoder's state is updated once after.
        var consumed = 0
        var failed: EventStreamDecodingError.Reason?
        defer {
            input.moveReaderIndex(forwardBy: consumed)
            streamOffset += consumed
            if let failed { failure = EventStreamDecodingError(failed, streamOffset: streamOffset) }
        }
        try buffer.withUnsafeReadableBytes { raw in
            while raw.count - consumed >= Prelude.size {
                let rest = UnsafeRawBufferPointer(rebasing: raw[consumed...])
                let prelude: Prelude
                switch Self.readPrelude(rest, limits: limits) {
                case .success(let p): prelude = p
                case .failure(let reason): failed = reason; return
                }
                guard rest.count >= prelude.totalLength else { return }
                let routing: RawRoutingHeaders
                switch Self.checkMessage(rest, prelude) {
                case .success(let r): routing = r
                case .failure(let reason): failed = reason; return
                }
                let headersEnd = Prelude.size + prelude.headersLength
                let view = EventStreamMessageView(
                    headerBytes: UnsafeRawBufferPointer(rebasing: rest[Prelude.size..<headersEnd]),
                    payload: UnsafeRawBufferPointer(rebasing: rest[headersEnd..<(prelude.totalLength - 4)]),
                    routing: routing)
                consumed += prelude.totalLength
                try body(view)
            }
        }
        if let failed { throw EventStreamDecodingError(failed, streamOffset: streamOffset + consumed) }
    }

    /// Checks the message CRC, parses the headers and slices out the payload of the
    /// message at the front of `buffer` (which holds all of it), consuming it.
    private static func decodeMessage(from buffer: inout ByteBuffer, _ prelude: Prelude, streamOffset: Int)
        throws(EventStreamDecodingError) -> EventStreamMessage
    {
        let checked = buffer.withUnsafeReadableBytes { Self.checkMessage($0, prelude).map(\.owned) }
        let routing: RoutingHeaders
        switch checked {
        case .success(let value): routing = value
        case .failure(let reason): throw EventStreamDecodingError(reason, streamOffset: streamOffset)
        }
        let payloadLength = prelude.totalLength - Prelude.overhead - prelude.headersLength
        let headers =
            buffer.getSlice(at: buffer.readerIndex + Prelude.size, length: prelude.headersLength) ?? ByteBuffer()
        let payload =
            buffer.getSlice(
                at: buffer.readerIndex + Prelude.size + prelude.headersLength, length: payloadLength) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: prelude.totalLength)
        return EventStreamMessage(checkedHeaders: headers, routing: routing, payload: payload)
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
