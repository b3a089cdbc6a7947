import BedrockWire
import NIOCore

/// A response body whose event-stream frames are rewritten to apply a stream fault.
///
/// Frames are decoded as they arrive (BedrockWire's decoder) and written again with
/// BedrockWire's encoder; one frame is held back so a fault can hit the last frame
/// (`truncate`, `corrupt_crc`, `close` of a stream without `messageStop`). Once the fault
/// has ended the stream, the upstream body is no longer read.
struct StreamFaultBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let upstream: ResponseBody
    let fault: StreamFault
    let ruleId: String
    let isConverseStream: Bool

    func makeAsyncIterator() -> Iterator {
        Iterator(
            upstream: upstream.makeAsyncIterator(), fault: fault, ruleId: ruleId, isConverseStream: isConverseStream)
    }

    struct Iterator: AsyncIteratorProtocol {
        var upstream: ResponseBody.AsyncIterator
        let fault: StreamFault
        let ruleId: String
        let isConverseStream: Bool
        var decoder = EventStreamDecoder()
        let encoder = EventStreamEncoder()
        /// Frames ready to hand out, in order.
        var ready: [ByteBuffer] = []
        /// The newest frame, kept back until we know whether it is the last.
        var held: EventStreamMessage?
        /// Frames passed through so far.
        var passed = 0
        /// The fault has fired: nothing more is read.
        var ended = false
        var upstreamDone = false

        init(upstream: ResponseBody.AsyncIterator, fault: StreamFault, ruleId: String, isConverseStream: Bool) {
            self.upstream = upstream; self.fault = fault; self.ruleId = ruleId; self.isConverseStream = isConverseStream
        }

        mutating func next() async throws -> ByteBuffer? {
            while ready.isEmpty {
                if ended || upstreamDone { return nil }
                guard let chunk = try await upstream.next() else {
                    upstreamDone = true
                    if let last = held {
                        held = nil
                        try process(last, isLast: true)
                    }
                    if !ended, fault.kind == .exception { try emitException() }
                    // Bytes of an unfinished frame from upstream pass on as they were.
                    if !ended, decoder.bufferedByteCount > 0 {
                        do { try decoder.finish() } catch {
                            throw BedrockError(
                                kind: .incompleteStream, message: "the stream ended inside an event: \(error)")
                        }
                    }
                    continue
                }
                decoder.append(chunk)
                do {
                    while !ended, let message = try decoder.nextMessage() {
                        if let previous = held { try process(previous, isLast: false) }
                        held = ended ? nil : message
                    }
                } catch let error as EventStreamDecodingError {
                    throw BedrockError(kind: .invalidResponse, message: "malformed event stream: \(error)")
                }
            }
            let frame = ready.removeFirst()
            if fault.kind == .drip, fault.dripMilliseconds > 0 {
                try await Task.sleep(for: .milliseconds(fault.dripMilliseconds))
            }
            return frame
        }

        /// Passes `message` on or applies the fault to it.
        mutating func process(_ message: EventStreamMessage, isLast: Bool) throws {
            let atFault = fault.afterEvents.map { passed >= $0 } ?? false
            switch fault.kind {
            case .drip:
                try pass(message)
            case .exception:
                if passed >= (fault.afterEvents ?? 1) { try emitException() } else { try pass(message) }
            case .truncate:
                if passed >= (fault.afterEvents ?? 1) || isLast {
                    let frame = try encode(message)
                    ready.append(
                        frame.getSlice(at: frame.readerIndex, length: Swift.max(1, frame.readableBytes / 2))
                            ?? ByteBuffer())
                    ended = true
                } else {
                    try pass(message)
                }
            case .corruptCRC:
                if passed >= (fault.afterEvents ?? 1) || isLast {
                    var frame = try encode(message)
                    let last = frame.writerIndex - 1
                    if let byte = frame.getInteger(at: last, as: UInt8.self) { frame.setInteger(byte ^ 0xFF, at: last) }
                    ready.append(frame)
                    ended = true
                } else {
                    try pass(message)
                }
            case .close:
                let finalEvent =
                    isConverseStream
                    ? (message.eventType == "messageStop" || message.eventType == "metadata")
                    : isLast
                if fault.afterEvents == nil ? finalEvent : atFault {
                    ended = true
                } else {
                    try pass(message)
                }
            }
        }

        mutating func pass(_ message: EventStreamMessage) throws {
            ready.append(try encode(message))
            passed += 1
        }

        mutating func emitException() throws {
            ended = true
            if let code = fault.unmodelledErrorCode {
                ready.append(
                    try encode(EventStreamWriter.error(code: code, message: StreamFault.unmodelledErrorMessage(code))))
                return
            }
            var extra: [(name: String, json: String)] = []
            if fault.exception == .modelStreamError { extra = [("originalStatusCode", "500")] }
            let payload = EventStreamWriter.exceptionPayload(
                message: "\(fault.exception.serviceMessage) (injected by client fault rule \(ruleId))",
                extraMembers: extra)
            ready.append(try encode(EventStreamWriter.exception(fault.exception.streamMemberName, payload: payload)))
        }

        func encode(_ message: EventStreamMessage) throws -> ByteBuffer {
            do {
                return try encoder.encode(message)
            } catch {
                throw BedrockError(kind: .invalidResponse, message: "could not re-encode a stream frame: \(error)")
            }
        }
    }
}
