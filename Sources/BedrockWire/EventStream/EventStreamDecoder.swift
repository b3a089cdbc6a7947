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
    /// The storage of the last carry, emptied, kept for the next message that straddles
    /// buffers (one per network read) instead of allocating a new one; only when small.
    private var spareCarry: ByteBuffer?
    /// Largest spare kept: a Bedrock message is a few hundred bytes; a larger one is
    /// rare, and a thousand idle streams should not each hold its storage.
    private static let maxSpareCapacity = 4 * 1024
    /// The unread rest of the most recently appended buffer (not copied).
    private var input = ByteBuffer()
    /// Stream offset of the first byte not yet returned as part of a message.
    private var streamOffset = 0
    /// Set once decoding failed; every later call throws it again.
    private var failure: EventStreamDecodingError?
    /// The last headers section that passed the checks, to compare the next one against
    /// instead of walking it again.
    private var memo: HeaderSectionMemo

    /// A decoder enforcing `limits` (by default 128 KiB of headers and 16 MiB of payload).
    public init(limits: EventStreamLimits = .standard) {
        self.limits = limits
        self.memo = HeaderSectionMemo()
    }

    /// A decoder that walks every headers section, remembering none: the reference the
    /// tests and benchmarks compare the usual decoder against.
    package init(limits: EventStreamLimits = .standard, remembersHeaderSection: Bool) {
        self.limits = limits
        self.memo = HeaderSectionMemo(enabled: remembersHeaderSection)
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
            // The message returned keeps the carry's storage: nothing to reuse.
            guard let carried = try nextCarriedMessage(keepingStorage: false) else { return nil }
            return carried.bytes.withUnsafeReadableBytes { carried.makeMessage($0) }
        }
        guard input.readableBytes >= Prelude.size else { return nil }
        let prelude = try readPrelude(input)
        guard input.readableBytes >= prelude.totalLength else { return nil }
        let routing = try checkMessage(input, prelude)
        let message = input.withUnsafeReadableBytes {
            CheckedMessage(bytes: input, prelude: prelude, routing: routing).makeMessage($0)
        }
        input.moveReaderIndex(forwardBy: prelude.totalLength)
        streamOffset += prelude.totalLength
        return message
    }

    /// Completes the message at the front of `carry` with bytes from `input`, checks it
    /// and consumes it; nil while bytes are missing. With `keepingStorage`, an emptied
    /// carry is kept for the next message that straddles buffers (for a caller that is
    /// done with the returned bytes before then).
    private mutating func nextCarriedMessage(keepingStorage: Bool) throws(EventStreamDecodingError)
        -> CheckedMessage?
    {
        guard var pending = carry else { return nil }
        carry = nil  // keep `pending` uniquely referenced while it grows
        defer {
            if pending.readableBytes > 0 {
                carry = pending
            } else if keepingStorage, pending.capacity <= Self.maxSpareCapacity {
                // Cleared when reused: by then the message returned below is gone (were it
                // not, clearing would allocate anew, as a fresh carry does).
                spareCarry = pending
            }
        }
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
        let routing = try checkMessage(pending, prelude)
        let message = CheckedMessage(bytes: pending, prelude: prelude, routing: routing)
        pending.moveReaderIndex(forwardBy: prelude.totalLength)
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
        var pending = carry ?? spareCarry ?? ByteBuffer()
        let reusesSpare = carry == nil && spareCarry != nil
        carry = nil  // keep `pending` uniquely referenced
        spareCarry = nil
        if reusesSpare { pending.clear() }
        take(count, into: &pending)
        carry = pending
    }

    /// Reads and checks the prelude at the front of `buffer` (which holds ≥ 12 bytes).
    private func readPrelude(_ buffer: ByteBuffer) throws(EventStreamDecodingError) -> Prelude {
        let limits = self.limits
        let result = buffer.withUnsafeReadableBytes { raw -> Result<Prelude, EventStreamDecodingError.Reason> in
            guard raw.count >= Prelude.size, let start = raw.baseAddress else {
                // Not reached: callers check that the prelude is there.
                return .failure(.truncated(bufferedBytes: raw.count, expectedBytes: nil))
            }
            do throws(EventStreamDecodingError.Reason) {
                return .success(try Self.readPrelude(start, limits: limits))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let prelude): return prelude
        case .failure(let reason): throw EventStreamDecodingError(reason, streamOffset: streamOffset)
        }
    }

    /// Reads and checks the prelude at `start` (12 readable bytes).
    @inline(__always)
    private static func readPrelude(_ start: UnsafeRawPointer, limits: EventStreamLimits)
        throws(EventStreamDecodingError.Reason) -> Prelude
    {
        let total = start.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian
        let headers = start.loadUnaligned(fromByteOffset: 4, as: UInt32.self).bigEndian
        let expectedCRC = start.loadUnaligned(fromByteOffset: 8, as: UInt32.self).bigEndian
        let computedCRC = CRC32.update(0, UnsafeRawBufferPointer(start: start, count: 8))
        guard expectedCRC == computedCRC else {
            throw .preludeChecksumMismatch(expected: expectedCRC, computed: computedCRC)
        }
        guard total >= UInt32(Prelude.overhead) else { throw .messageTooShort(totalLength: total) }
        guard headers <= total - UInt32(Prelude.overhead) else {
            throw .headersLengthExceedsMessage(headersLength: headers, totalLength: total)
        }
        let headersLength = Int(headers)
        let payloadLength = Int(total) - Prelude.overhead - headersLength
        guard headersLength <= limits.maxHeadersLength else {
            throw .headersTooLong(length: headersLength, limit: limits.maxHeadersLength)
        }
        guard payloadLength <= limits.maxPayloadLength else {
            throw .payloadTooLong(length: payloadLength, limit: limits.maxPayloadLength)
        }
        return Prelude(totalLength: Int(total), headersLength: headersLength, crc: computedCRC)
    }

    /// Checks the message CRC and the headers of the whole message at the front of
    /// `buffer` (which holds all of it).
    private mutating func checkMessage(_ buffer: ByteBuffer, _ prelude: Prelude)
        throws(EventStreamDecodingError) -> RawRoutingHeaders
    {
        let result = buffer.withUnsafeReadableBytes {
            raw -> Result<RawRoutingHeaders, EventStreamDecodingError.Reason> in
            guard raw.count >= prelude.totalLength, let start = raw.baseAddress else {
                // Not reached: callers pass a buffer holding the whole message.
                return .failure(.truncated(bufferedBytes: raw.count, expectedBytes: prelude.totalLength))
            }
            do throws(EventStreamDecodingError.Reason) {
                return .success(try Self.checkMessage(start, prelude, &memo))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let routing): return routing
        case .failure(let reason): throw EventStreamDecodingError(reason, streamOffset: streamOffset)
        }
    }

    /// Checks the message CRC and the headers of the whole message at `start`
    /// (`prelude.totalLength` readable bytes, prelude checked).
    @inline(__always)
    private static func checkMessage(_ start: UnsafeRawPointer, _ prelude: Prelude, _ memo: inout HeaderSectionMemo)
        throws(EventStreamDecodingError.Reason) -> RawRoutingHeaders
    {
        // The message CRC covers everything before it, the prelude CRC included.
        let crcEnd = prelude.totalLength - 4
        let expected = start.loadUnaligned(fromByteOffset: crcEnd, as: UInt32.self).bigEndian
        let computed = CRC32.update(prelude.crc, UnsafeRawBufferPointer(start: start + 8, count: crcEnd - 8))
        guard expected == computed else {
            throw .messageChecksumMismatch(expected: expected, computed: computed)
        }
        let section = UnsafeRawBufferPointer(start: start + Prelude.size, count: prelude.headersLength)
        let result = memo.check(section)
        switch result {
        case .success(let routing): return routing
        case .failure(let reason): throw reason
        }
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
        // A message that straddles buffers is completed in the carry buffer first, then
        // shown in place there.
        while carry != nil {
            let carried: CheckedMessage?
            do {
                carried = try nextCarriedMessage(keepingStorage: true)
            } catch {
                failure = error
                throw error
            }
            guard let carried else { return }
            try carried.bytes.withUnsafeReadableBytes { raw in
                guard let start = raw.baseAddress else { return }  // not reached: it holds a whole message
                try body(carried.prelude.view(at: start, routing: carried.routing))
            }
        }
        guard input.readableBytes >= Prelude.size else { return }
        let buffer = input
        let limits = self.limits
        // Only locals change inside the loop; the decoder's state is updated once after.
        var memo = self.memo
        self.memo = HeaderSectionMemo(enabled: false)  // keeps the memo's storage uniquely referenced
        var consumed = 0
        var failed: EventStreamDecodingError.Reason?
        defer {
            self.memo = memo
            input.moveReaderIndex(forwardBy: consumed)
            streamOffset += consumed
            if let failed { failure = EventStreamDecodingError(failed, streamOffset: streamOffset) }
        }
        try buffer.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress else { return }
            let count = raw.count
            while count - consumed >= Prelude.size {
                let start = base + consumed
                let prelude: Prelude
                let routing: RawRoutingHeaders
                do throws(EventStreamDecodingError.Reason) {
                    prelude = try Self.readPrelude(start, limits: limits)
                    guard count - consumed >= prelude.totalLength else { return }
                    routing = try Self.checkMessage(start, prelude, &memo)
                } catch {
                    failed = error
                    return
                }
                consumed += prelude.totalLength
                try body(prelude.view(at: start, routing: routing))
            }
        }
        if let failed { throw EventStreamDecodingError(failed, streamOffset: streamOffset + consumed) }
    }
}

/// A whole message that passed every check: its bytes (from the prelude on), prelude and
/// routing headers.
struct CheckedMessage {
    var bytes: ByteBuffer
    var prelude: Prelude
    var routing: RawRoutingHeaders

    /// The owned message, as slices of `bytes`; `raw` is `bytes`' readable bytes.
    func makeMessage(_ raw: UnsafeRawBufferPointer) -> EventStreamMessage {
        let headersStart = bytes.readerIndex + Prelude.size
        let section = UnsafeRawBufferPointer(rebasing: raw[Prelude.size..<(Prelude.size + prelude.headersLength)])
        let headers = bytes.getSlice(at: headersStart, length: prelude.headersLength) ?? ByteBuffer()
        let payload =
            bytes.getSlice(at: headersStart + prelude.headersLength, length: prelude.payloadLength) ?? ByteBuffer()
        return EventStreamMessage(checkedHeaders: headers, routing: routing.owned(in: section), payload: payload)
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

    /// Bytes of the payload.
    var payloadLength: Int { totalLength - Self.overhead - headersLength }

    /// The view of the checked message whose bytes start at `start`.
    @inline(__always)
    func view(at start: UnsafeRawPointer, routing: RawRoutingHeaders) -> EventStreamMessageView {
        EventStreamMessageView(
            headerBytes: UnsafeRawBufferPointer(start: start + Self.size, count: headersLength),
            payload: UnsafeRawBufferPointer(start: start + Self.size + headersLength, count: payloadLength),
            routing: routing)
    }
}
