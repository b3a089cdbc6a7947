import BedrockWire
import Foundation
import NIOCore
import Synchronization

/// The events of a streaming call, as an async sequence, plus what is known about
/// the call (attempts, request id, restarts) once it has ended.
///
/// Every failure surfaces as a thrown `BedrockError` while iterating: HTTP errors and
/// exceptions before the first event (retried like any call first), exceptions inside
/// the stream (typed like non-streaming errors, extra fields kept), idle timeouts, and
/// a stream that ends without its final event (`IncompleteStream`). Stopping the
/// iteration, or cancelling the iterating task, closes the connection.
public final class BedrockEventStream<Event: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Event

    /// Events arrive from the network in batches (every event of one read), so a long
    /// stream costs one hand-over per read rather than one per event.
    private let batches: AsyncThrowingStream<[Event], any Error>
    let state: StreamCallState

    init(batches: AsyncThrowingStream<[Event], any Error>, state: StreamCallState) {
        self.batches = batches
        self.state = state
    }

    /// Iterates the events one by one.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: BatchIterator
        var batch: [Event] = []
        var position = 0

        /// The next event, or nil when the stream has ended.
        public mutating func next() async throws -> Event? {
            while position == batch.count {
                guard let more = try await base.next() else { return nil }
                batch = more
                position = 0
            }
            defer { position += 1 }
            return batch[position]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: makeBatchIterator()) }

    /// Reads batches and tells the call's state each one was taken, so the bytes
    /// waiting for the consumer are counted (`ResponseLimits.maxStreamBytes`).
    package struct BatchIterator {
        var base: AsyncThrowingStream<[Event], any Error>.AsyncIterator
        let state: StreamCallState

        /// The next batch, or nil when the stream has ended.
        package mutating func next() async throws -> [Event]? {
            let batch = try await base.next()
            if batch != nil { state.batchConsumed() }
            return batch
        }
    }

    /// The events in the batches they arrived in (every event of one network read),
    /// for consumers that hand them on in bulk, such as the Lua host.
    package func makeBatchIterator() -> BatchIterator {
        BatchIterator(base: batches.makeAsyncIterator(), state: state)
    }

    /// Attempts made so far (complete once the stream has ended).
    public var attempts: [AttemptRecord] { state.read { $0.attempts } }
    /// `x-amzn-RequestId` of the answer being streamed.
    public var requestId: String? { state.read { $0.requestId } }
    /// How many times the call was restarted after a mid-stream failure.
    public var restarts: Int { state.read { $0.restarts } }
    /// `X-Amzn-Bedrock-Content-Type` of an InvokeModelWithResponseStream answer.
    public var contentType: String? { state.read { $0.contentType } }
}

/// A ConverseStream call.
public typealias ConverseEventStream = BedrockEventStream<ConverseStreamEvent>
/// An InvokeModelWithResponseStream call.
public typealias ResponseEventStream = BedrockEventStream<ResponseStreamEvent>

extension BedrockEventStream where Event == ConverseStreamEvent {
    /// Reads the whole stream and returns what `converse` would have: text, tool uses
    /// with parsed input, usage and stop reason. A failure after partial output
    /// throws a `BedrockError` whose `partialResult` holds what arrived.
    public func collect() async throws -> BedrockResult<ConverseStreamResult> {
        var accumulator = ConverseStreamAccumulator()
        for try await event in self { accumulator.add(event) }
        return BedrockResult(output: accumulator.current, attempts: attempts, requestId: requestId)
    }

    /// What the stream has produced so far, folded as `collect()` folds it (restarts
    /// counted); the whole answer once the stream has ended. The call keeps this as it
    /// reads, so a consumer need not fold the events a second time.
    package var partialResult: ConverseStreamResult { state.read { $0.partial.current } }
}

extension BedrockEventStream where Event == ResponseStreamEvent {
    /// Reads the whole stream and returns the chunks in order (after the last restart).
    public func collectChunks() async throws -> BedrockResult<[Data]> {
        var chunks: [Data] = []
        for try await event in self {
            switch event {
            case let .chunk(d): chunks.append(d)
            case .restarted: chunks.removeAll()
            case .unknown: break
            }
        }
        return BedrockResult(output: chunks, attempts: attempts, requestId: requestId)
    }
}

/// Shared, lock-protected facts about one streaming call.
final class StreamCallState: @unchecked Sendable {
    struct Values {
        var attempts: [AttemptRecord] = []
        var requestId: String?
        var restarts = 0
        var contentType: String?
        /// Events yielded by the current attempt.
        var yieldedThisAttempt = 0
        /// Whether any attempt yielded events.
        var yieldedAny = false
        var attemptsStarted = 0
        var lastFailure: String?
        var partial = ConverseStreamAccumulator()
        /// Event bytes of each batch handed over and not yet taken by the consumer, in order.
        var unreadBatches: [Int] = []
        var unreadBytes = 0
    }
    private let lock = Mutex(())
    private var values = Values()
    /// The call's share of the client's in-flight budget: the partial result's bytes
    /// and the unread events', kept in step with them; given back when the stream is dropped.
    let reservation: ResponseBudget.Reservation

    init(reservation: ResponseBudget.Reservation) { self.reservation = reservation }

    /// Resizes the reservation to what `v` holds now; false when the budget has no room.
    func reserveHeld(_ v: Values) -> Bool {
        let held = v.partial.heldBytes.addingReportingOverflow(v.unreadBytes)
        return !held.overflow && reservation.resize(to: held.partialValue)
    }

    func read<T>(_ body: (Values) -> T) -> T { lock.withLock { _ in body(values) } }
    func update<T>(_ body: (inout Values) -> T) -> T { lock.withLock { _ in body(&values) } }

    /// The consumer took the oldest batch handed over.
    func batchConsumed() {
        lock.withLock { _ in
            guard !values.unreadBatches.isEmpty else { return }
            values.unreadBytes -= values.unreadBatches.removeFirst()
            _ = reserveHeld(values)
        }
    }
}

/// How one kind of stream reads its events.
struct StreamEventCodec<Event: Sendable>: Sendable {
    /// Decodes an `event` message.
    var decode: @Sendable (_ eventType: String, _ payload: JSONValue) throws -> Event
    /// Decodes the commonest events straight from the message bytes, or returns nil
    /// for `decode` to handle.
    var decodeFast: (@Sendable (_ message: EventStreamMessageView) -> Event?)? = nil
    /// Whether this event completes the stream (`messageStop`); nil when the stream
    /// has no final event and a clean end of the body completes it.
    var isFinal: (@Sendable (Event) -> Bool)?
    /// The event announcing a restart.
    var restarted: @Sendable (_ attempt: Int, _ reason: String) -> Event
    /// Folds an event into the partial result (Converse only).
    var accumulate: (@Sendable (inout ConverseStreamAccumulator, Event) -> Void)?
}

extension StreamEventCodec where Event == ConverseStreamEvent {
    static let converse = StreamEventCodec(
        decode: { try ConverseStreamEvent.decode(eventType: $0, payload: $1) },
        decodeFast: { message in
            guard message.eventType(is: "contentBlockDelta"), let delta = JSONParser.textDelta(message.payload) else {
                return nil
            }
            return .contentBlockDelta(index: delta.index, delta: .text(delta.text))
        },
        isFinal: { if case .messageStop = $0 { true } else { false } },
        restarted: { .restarted(attempt: $0, reason: $1) },
        accumulate: { $0.add($1) })
}

extension StreamEventCodec where Event == ResponseStreamEvent {
    static let responseStream = StreamEventCodec(
        decode: { try ResponseStreamEvent.decode(eventType: $0, payload: $1) },
        isFinal: nil,
        restarted: { .restarted(attempt: $0, reason: $1) },
        accumulate: nil)
}

/// Turns stream `exception` and `error` messages into `BedrockError`s.
enum StreamExceptionParser {
    static func error(from message: EventStreamMessage) -> BedrockError? {
        switch message.kind {
        case .exception:
            let name = message.exceptionType ?? "UnknownException"
            let bytes = message.payload.readableBytesView
            let json =
                JSONStructure.holdsAtMost(ResponseLimits.defaultMaxJSONValues, valuesIn: bytes)
                ? try? JSONParser.parse(bytes) : nil
            let text = json?["message"]?.stringValue ?? json?["Message"]?.stringValue ?? "\(name) inside the stream"
            return BedrockError(
                kind: .service(ServiceErrorCode(wireName: name)), message: text,
                originalStatusCode: json?["originalStatusCode"]?.intValue,
                resourceName: json?["resourceName"]?.stringValue)
        case .error:
            let code = message.errorCode ?? "UnknownError"
            return BedrockError(
                kind: .service(ServiceErrorCode(wireName: code)),
                message: message.errorMessage ?? "\(code) inside the stream")
        case .event, .other:
            return nil
        }
    }
}

extension RequestPipeline {
    /// Runs a streaming call and feeds its events to a new `BedrockEventStream`.
    ///
    /// Failures before the first event are retried like any call. After output has
    /// arrived, `.failWithPartialResult` ends the stream with the error (and, for
    /// Converse, the partial result); `.restart` runs the call again, first yielding
    /// `.restarted` so consumers discard what they had.
    func stream<Event: Sendable>(_ op: OperationRequest, options: CallOptions, codec: StreamEventCodec<Event>)
        -> BedrockEventStream<Event>
    {
        let state = StreamCallState(reservation: budget.reservation())
        let policy = options.streamRetry ?? configuration.streamRetry
        let limits = configuration.limits
        let (events, continuation) = AsyncThrowingStream.makeStream(of: [Event].self, throwing: (any Error).self)
        let task = Task.onPool {
            do {
                let hooks = AttemptHooks(
                    willStart: { state.update { $0.yieldedThisAttempt = 0 } },
                    adjust: { Self.applyStreamPolicy(policy, to: $0, state: state) })
                let (_, attempts, headers) = try await self.perform(op, options: options, hooks: hooks) {
                    response, watchdog in
                    try await Self.readEvents(
                        response, watchdog: watchdog, state: state, codec: codec,
                        policy: policy, limits: limits, continuation: continuation)
                }
                state.update {
                    $0.attempts = attempts
                    $0.requestId = headers.requestId
                }
                continuation.finish()
            } catch var error as BedrockError {
                let partial = state.update { values -> ConverseStreamResult? in
                    values.attempts = error.attempts
                    return values.yieldedAny && codec.accumulate != nil ? values.partial.current : nil
                }
                error.partialResult = partial
                continuation.finish(throwing: error)
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return BedrockEventStream(batches: events, state: state)
    }

    /// Reads one attempt's event stream, yielding events as they arrive.
    ///
    /// The idle timer restarts per complete message, not per network read: a server
    /// dribbling the bytes of one never-finished message trips it. `limits.maxStreamBytes`
    /// caps both the Converse result held so far and the event bytes the consumer has
    /// not taken; `maxContentBlocks` the result's blocks; the client's in-flight budget
    /// all of it together with the client's other calls.
    static func readEvents<Event: Sendable>(
        _ response: IncomingResponse, watchdog: ProgressWatchdog, state: StreamCallState,
        codec: StreamEventCodec<Event>,
        policy: StreamRetryPolicy, limits: ResponseLimits,
        continuation: AsyncThrowingStream<[Event], any Error>.Continuation
    ) async throws {
        let limit = limits.maxStreamBytes
        let (attempt, restartReason) = state.update { v -> (Int, String?) in
            v.attemptsStarted += 1
            v.yieldedThisAttempt = 0
            v.requestId = response.headers.requestId
            v.contentType = response.headers.first(name: "X-Amzn-Bedrock-Content-Type")
            guard v.yieldedAny else { return (v.attemptsStarted, nil) }
            v.restarts += 1
            let reason = v.lastFailure ?? "the stream failed"
            // The accumulator starts again, counting the restart.
            codec.accumulate?(&v.partial, codec.restarted(v.attemptsStarted, reason))
            return (v.attemptsStarted, reason)
        }
        if let restartReason {
            state.update { v in v.unreadBatches.append(0) }
            continuation.yield([codec.restarted(attempt, restartReason)])
        }

        var decoder = EventStreamDecoder()
        var sawFinal = false
        var batch: [Event] = []
        var batchBytes = 0
        func tooLarge() -> BedrockError {
            BedrockError.responseTooLarge(
                "the stream's result (or the events not yet read)", limit: limit,
                setting: "maxStreamBytes")
        }
        /// Hands the events decoded so far to the consumer (and to the partial result);
        /// the error when that would pass a cap (the events are then dropped).
        func flush() -> BedrockError? {
            guard !batch.isEmpty else { return nil }
            let failure = state.update { v -> BedrockError? in
                v.yieldedThisAttempt += batch.count
                v.yieldedAny = true
                if let accumulate = codec.accumulate {
                    for event in batch {
                        accumulate(&v.partial, event)
                        // Stop at the event that passes a cap: the result keeps no more.
                        if v.partial.heldBytes > limit { return tooLarge() }
                        if v.partial.contentBlockCount > limits.maxContentBlocks {
                            return BedrockError(
                                kind: .responseTooLarge,
                                message:
                                    "the stream's result has more than \(limits.maxContentBlocks) content blocks (ResponseLimits.maxContentBlocks)"
                            )
                        }
                    }
                }
                guard batchBytes <= limit - v.unreadBytes else { return tooLarge() }
                v.unreadBatches.append(batchBytes)
                v.unreadBytes += batchBytes
                guard state.reserveHeld(v) else {
                    v.unreadBatches.removeLast()
                    v.unreadBytes -= batchBytes
                    return state.reservation.tooLarge
                }
                return nil
            }
            if failure == nil { continuation.yield(batch) }
            batch = []
            batchBytes = 0
            return failure
        }
        var bodyStarted = false
        do {
            defer { _ = flush() }
            do {
                for try await chunk in response.body {
                    bodyStarted = true
                    decoder.append(chunk)
                    // Messages are read in place: only what an event keeps is copied out.
                    try decoder.decodeAvailable { message in
                        // Progress is a whole message: the idle timer restarts per event.
                        watchdog.touch()
                        batchBytes += message.payload.count + message.headerBytes.count + 16
                        switch message.kind {
                        case .event: break
                        case .exception, .error:
                            if let error = StreamExceptionParser.error(from: message.makeMessage()) { throw error }
                            return
                        case .other: return
                        }
                        let event: Event
                        if let fast = codec.decodeFast, let quick = fast(message) {
                            event = quick
                        } else {
                            let type = message.eventType ?? ""
                            let payload: JSONValue
                            let maxValues = limits.maxJSONValues
                            guard JSONStructure.holdsAtMost(maxValues, valuesIn: message.payload) else {
                                throw BedrockError.tooManyJSONValues("stream event '\(type)'", limit: maxValues)
                            }
                            do {
                                payload = message.payload.isEmpty ? .object([]) : try JSONParser.parse(message.payload)
                            } catch {
                                throw BedrockError.invalidResponse(
                                    "stream event '\(type)' payload is not JSON: \(error)")
                            }
                            do {
                                event = try codec.decode(type, payload)
                            } catch {
                                throw BedrockError.invalidResponse(
                                    "stream event '\(type)' could not be read: \(BedrockRuntimeClient.describe(error))")
                            }
                        }
                        batch.append(event)
                        if codec.isFinal?(event) == true { sawFinal = true }
                    }
                    if let failure = flush() { throw failure }
                }
            } catch  where !(error is EventStreamDecodingError) {
                // A connection that closes once the body has begun is the same broken stream
                // as a body that ends inside an event (`IncompleteStream`), wherever the cut
                // was made: the emulator's `stream = "truncate"` and the client's give one
                // code. (Whether the cut event's first bytes arrive before the close is down
                // to timing, so they are not the test.)
                if let closed = TransportErrorMapper.map(error) as? BedrockError,
                    case .transport(.connectionReset) = closed.kind, bodyStarted || decoder.bufferedByteCount > 0
                {
                    throw BedrockError(
                        kind: .incompleteStream,
                        message: "the stream ended inside an event (\(closed.message))")
                }
                throw error
            }
            do {
                try decoder.finish()
            } catch {
                throw BedrockError(kind: .incompleteStream, message: "the stream ended inside an event: \(error)")
            }
            if codec.isFinal != nil, !sawFinal {
                throw BedrockError(kind: .incompleteStream, message: "the stream ended without messageStop")
            }
        } catch let e as EventStreamDecodingError {
            throw BedrockError.invalidResponse("malformed event stream: \(e)")
        }
    }

    /// A failure after output is final under `.failWithPartialResult`, and retried
    /// (restarting the call) under `.restart`; failures before output are unchanged.
    static func applyStreamPolicy(_ policy: StreamRetryPolicy, to error: BedrockError, state: StreamCallState)
        -> BedrockError
    {
        let yielded = state.update { v -> Bool in
            v.lastFailure = "\(error.code): \(error.message)"
            return v.yieldedThisAttempt > 0
        }
        guard yielded else { return error }
        var e = error
        switch policy {
        case .failWithPartialResult:
            e.isRetryable = false
            e.retryReason = "the stream failed after output (policy failWithPartialResult)"
        case .restart:
            switch e.kind {
            case .cancelled, .invalidRequest, .missingCredentials: return e
            case let .service(code)
            where !RetryClassifier.classify(kind: .service(code), httpStatus: e.httpStatus).retryable
                && code != .known(.modelStreamError):
                return e
            default:
                e.isRetryable = true
                e.retryReason = "restarting the stream after a failure mid-stream (policy restart)"
            }
        }
        return e
    }
}
