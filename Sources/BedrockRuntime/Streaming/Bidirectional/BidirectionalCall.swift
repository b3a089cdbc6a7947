import BedrockWire
import Foundation
import NIOCore
import NIOHTTP1

/// An InvokeModelWithBidirectionalStream call: the model's `chunk` output events as
/// they arrive, while the input is still being sent. Exceptions inside the stream
/// throw the same typed `BedrockError`s as other calls; unknown event types pass
/// through as `.unknown`.
public typealias BidirectionalEventStream = BedrockEventStream<ResponseStreamEvent>

extension RequestPipeline {
    /// Runs a bidirectional stream: one attempt (its input cannot be replayed), the
    /// request signed for event payloads, the input framed and signed as it is sent,
    /// the output decoded like InvokeModelWithResponseStream's.
    ///
    /// The time-to-first-byte limit applies to the response head; after it, the idle
    /// limit applies to input and output together (either direction counts as
    /// progress); the total limit to the whole call. Stopping the iteration, or
    /// cancelling the iterating task, resets the stream and stops reading the input.
    func bidirectionalStream<Input: AsyncSequence & Sendable>(
        _ op: OperationRequest, input: Input, options: CallOptions
    ) -> BidirectionalEventStream where Input.Element == Data {
        let state = StreamCallState(reservation: budget.reservation())
        let (events, continuation) = AsyncThrowingStream.makeStream(
            of: [ResponseStreamEvent].self, throwing: (any Error).self)
        let timeouts = configuration.timeouts
        let firstByte = options.firstByteTimeout ?? timeouts.firstByte
        let idle = options.idleTimeout ?? timeouts.idle
        let totalLimit = options.totalTimeout ?? timeouts.total
        let task = Task.onPool {
            let started = ContinuousClock.now
            var record = AttemptRecord(number: 1, outcome: .success, duration: .zero)
            do {
                // Signing may fetch credentials: it runs under the call's deadlines too.
                let signing = ProgressWatchdog(limit: firstByte, failure: .firstByteTimeout)
                let request = try await withWatchdog(
                    signing, deadline: totalLimit.map { started + $0 }, totalLimit: totalLimit
                ) {
                    try await self.prepareBidirectional(op)
                }
                let watchdog = ProgressWatchdog(limit: firstByte, failure: .firstByteTimeout)
                // The call's own task reads the caller's input (so cancelling the call
                // stops reading it) and hands the signed frames to the transport.
                let (frames, frameFeed) = AsyncThrowingStream.makeStream(
                    of: ByteBuffer.self, throwing: (any Error).self)
                var signedRequest = request.request
                signedRequest.bodyStream = StreamingRequestBody(frames)
                let body = SignedEventBody(
                    input: input, signer: request.signer, now: self.now, onFrame: { watchdog.touch() })
                let transport = self.transport
                let outgoing = signedRequest
                let headers: HTTPHeaders = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await frame in body { frameFeed.yield(frame) }
                            frameFeed.finish()
                        } catch is CancellationError {
                            frameFeed.finish()
                        } catch {
                            frameFeed.finish(throwing: error)
                        }
                    }
                    // The exchange is over once the output ends (or fails): stop reading input.
                    defer {
                        group.cancelAll()
                        frameFeed.finish()
                    }
                    return try await self.exchange(
                        outgoing, transport: transport, watchdog: watchdog, idle: idle,
                        deadline: totalLimit.map { started + $0 }, totalLimit: totalLimit,
                        state: state, continuation: continuation)
                }
                record.httpStatus = 200
                record.requestId = headers.requestId
                record.duration = ContinuousClock.now - started
                self.finishBidirectional(record, op: op, options: options, state: state)
                continuation.finish()
            } catch {
                let failure =
                    error is CancellationError || Task.isCancelled
                    ? BedrockError(kind: .cancelled, message: "the call was cancelled")
                    : ErrorResponse.failure(from: error)
                record = AttemptRecord(number: 1, failure: failure, duration: ContinuousClock.now - started)
                record.requestId = failure.requestId ?? state.read { $0.requestId }
                record.retryDecision = .stop(.inputNotReplayable)
                self.finishBidirectional(record, op: op, options: options, state: state)
                continuation.finish(throwing: failure.stopped(by: .inputNotReplayable, attempts: [record]))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return BidirectionalEventStream(batches: events, state: state)
    }

    /// Sends the request and reads its output events under the watchdogs; returns the
    /// response headers once the output has ended.
    private func exchange(
        _ outgoing: OutgoingRequest, transport: any HTTPTransport, watchdog: ProgressWatchdog,
        idle: Duration, deadline: ContinuousClock.Instant?, totalLimit: Duration?, state: StreamCallState,
        continuation: AsyncThrowingStream<[ResponseStreamEvent], any Error>.Continuation
    ) async throws -> HTTPHeaders {
        try await withWatchdog(watchdog, deadline: deadline, totalLimit: totalLimit) {
            let response = try await transport.send(outgoing)
            watchdog.rearm(limit: idle, failure: .idleTimeout)
            guard (200..<300).contains(response.status) else {
                throw try await ErrorResponse.read(
                    response, watchdog: watchdog, limit: self.configuration.limits.maxErrorBodyBytes)
            }
            try await Self.readEvents(
                response, watchdog: watchdog, state: state, codec: .responseStream,
                policy: .failWithPartialResult, limits: self.configuration.limits,
                continuation: continuation)
            return response.headers
        }
    }

    /// The signed request and the signer for its events.
    private func prepareBidirectional(_ op: OperationRequest) async throws
        -> (request: OutgoingRequest, signer: SigV4EventSigner?)
    {
        guard let authorizer = configuration.authorizer as? any EventStreamRequestAuthorizer else {
            throw BedrockError.invalidRequest(
                "\(op.name): the configured authorizer (\(type(of: configuration.authorizer))) cannot sign event streams; "
                    + "it must conform to EventStreamRequestAuthorizer")
        }
        var headers = HTTPHeaders()
        for (n, v) in op.headers { headers.add(name: n, value: v) }
        headers.add(name: "User-Agent", value: configuration.userAgent)
        var request = OutgoingRequest(
            method: op.method, endpoint: configuration.endpoint,
            path: configuration.endpoint.basePath + op.path, query: op.query,
            headers: headers, body: [], operation: op.name)
        let signer: SigV4EventSigner?
        do {
            signer = try await authorizer.authorizeEventStream(&request, at: now())
        } catch let e as BedrockError {
            throw e
        } catch {
            throw BedrockError.invalidRequest("could not authorize the request: \(error)")
        }
        request.headers.add(name: "amz-sdk-invocation-id", value: invocationId())
        request.headers.add(name: "amz-sdk-request", value: "attempt=1; max=1")
        return (request, signer)
    }

    private func finishBidirectional(
        _ record: AttemptRecord, op: OperationRequest, options: CallOptions, state: StreamCallState
    ) {
        state.update { $0.attempts = [record] }
        options.attemptObserver?(record)
        configuration.attemptObserver?(op.name, record)
    }
}
