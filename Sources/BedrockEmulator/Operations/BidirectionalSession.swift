import BedrockWire
import Foundation
import NIOCore

/// One InvokeModelWithBidirectionalStream exchange, independent of sockets.
///
/// The input is a stream of `chunk` events, each wrapped in a message carrying `:date`
/// and a `:chunk-signature` chained from the request's signature (SigV4 callers), and
/// ended by a signed empty message. Only speech models (Nova Sonic) are served: every
/// chunk's bytes are one event of Nova Sonic's protocol (``NovaSonicConversation``),
/// answered as soon as it has been verified — so output interleaves with input. A bad
/// signature ends the stream with an `InvalidSignatureException` error message; bad
/// input with a `validationException`.
final class BidirectionalSession {
    /// What to send after some input arrived, and whether the exchange is over.
    struct Step {
        var frames: [[UInt8]] = []
        /// Pause between frames (per generated token, or a drip fault's).
        var delay: Duration = .zero
        /// The response ends after these frames.
        var finished = false
        /// How it ends when `finished`: cleanly, by closing the connection, or after
        /// half of the last frame (fault injection).
        var ending: Ending = .complete
        enum Ending { case complete, close, truncateLast }
    }

    let requestID: String
    private let service: EmulatorService
    private let model: ModelDescriptor
    private var conversation: NovaSonicConversation
    private var verifier: SigV4EventVerifier?
    private let signed: Bool
    private let fault: StreamFault?
    private var decoder = EventStreamDecoder()
    private var outputEvents = 0
    private(set) var record: RecordedRequest
    private var done = false

    init(
        service: EmulatorService, requestID: String, model: ModelDescriptor,
        verifier: SigV4EventVerifier?, signed: Bool, fault: StreamFault?, record: RecordedRequest
    ) {
        self.service = service
        self.requestID = requestID
        self.model = model
        self.conversation = NovaSonicConversation(model: model, sessionID: requestID)
        self.verifier = verifier
        self.signed = signed
        self.fault = fault
        self.record = record
    }

    /// Opens a session for a request head, or refuses it with an HTTP error response
    /// (authentication, unknown model, an injected error), as the service does before
    /// any event. Faults other than stream faults apply here.
    static func open(_ head: EmulatorRequest, modelID: String, service: EmulatorService) async
        -> (session: BidirectionalSession?, refusal: EmulatorResponse?)
    {
        let requestID = UUID().uuidString.lowercased()
        var record = RecordedRequest(
            requestID: requestID, time: Date(),
            operation: BedrockOperation.invokeModelWithBidirectionalStream.rawValue,
            model: modelID, status: 200)
        func refuse(_ error: ServiceError) -> (BidirectionalSession?, EmulatorResponse?) {
            record.status = error.status
            record.error = error.name
            service.log.append(record)
            return (nil, service.errorResponse(error, requestID: requestID))
        }
        let authenticated: (caller: AuthenticatedCaller, verifier: SigV4EventVerifier?)
        do {
            authenticated = try service.authenticator.authenticateEventStream(head)
        } catch {
            // Not recorded: the log holds authenticated requests only.
            return (nil, service.errorResponse(error, requestID: requestID))
        }
        let (caller, verifier) = authenticated
        record.region = caller.region
        record.principal = caller.principal
        let model = service.configuration.catalog.resolve(modelID)
        var streamFault: StreamFault?
        if let effect = service.faults.match(
            operation: .invokeModelWithBidirectionalStream, model: modelID,
            resolvedModel: model?.id, region: caller.region)
        {
            switch effect {
            case .error(let code, let retryAfter):
                record.fault = "error"
                return refuse(ServiceError.injected(code, retryAfterMilliseconds: retryAfter))
            case .latency(let milliseconds):
                record.fault = "latency"
                try? await Task.sleep(for: .milliseconds(milliseconds))
            case .stall:
                record.fault = "stall"
                record.status = 0
                service.log.append(record)
                return (nil, .stall)
            case .reset:
                record.fault = "reset"
                record.status = 0
                service.log.append(record)
                return (nil, .reset)
            case .stream(let fault):
                record.fault = "stream"
                streamFault = fault
            }
        }
        guard let model else { return refuse(.validation("The provided model identifier is invalid.")) }
        guard model.family.servesBidirectionalStream else {
            return refuse(.validation(EmulatorService.unsupported(model, .invokeModelWithBidirectionalStream)))
        }
        let session = BidirectionalSession(
            service: service, requestID: requestID, model: model,
            verifier: verifier, signed: verifier != nil, fault: streamFault, record: record)
        return (session, nil)
    }

    /// The response head's headers.
    var responseHeaders: [(String, String)] {
        service.headers(requestID, [("Content-Type", "application/vnd.amazon.eventstream")])
    }

    /// Handles bytes of the request body as they arrive.
    func receive(_ bytes: ByteBuffer) -> Step {
        guard !done else { return Step(finished: true) }
        decoder.append(bytes)
        var step = Step(delay: pacing)
        while !step.finished {
            let message: EventStreamMessage?
            do {
                message = try decoder.nextMessage()
            } catch {
                fail(&step, error: .validation("The input event stream is malformed: \(error)"))
                break
            }
            guard let message else { break }
            handle(message, into: &step)
        }
        return step
    }

    /// The request body ended. Signed streams must have been closed by their empty
    /// signed message first.
    func endOfInput() -> Step {
        guard !done else { return Step(finished: true) }
        var step = Step(delay: pacing)
        if decoder.bufferedByteCount > 0 {
            fail(&step, error: .validation("The input event stream ended inside an event."))
        } else if signed {
            fail(&step, error: .validation("The input event stream ended without its signed closing message."))
        } else {
            finish(&step)
        }
        return step
    }

    /// The client went away before the exchange ended.
    func abandoned() {
        guard !done else { return }
        done = true
        record.error = "ClientClosedStream"
        service.log.append(record)
    }

    // MARK: Messages

    private var pacing: Duration {
        if let fault, fault.kind == .drip { return .milliseconds(fault.dripMilliseconds) }
        return service.configuration.latencyPerToken
    }

    private func handle(_ outer: EventStreamMessage, into step: inout Step) {
        var inner = outer
        if signed {
            guard case .timestamp(let milliseconds)? = outer[header: EventStreamHeaderName.date],
                case .bytes(let signature)? = outer[header: EventStreamHeaderName.chunkSignature]
            else {
                signatureFailure(&step, "The input event has no ':date' timestamp or ':chunk-signature' header.")
                return
            }
            do {
                try verifier?.verify(
                    payload: Array(outer.payload.readableBytesView), dateMilliseconds: milliseconds,
                    signature: signature)
            } catch {
                signatureFailure(&step, error.message, name: error.errorType)
                return
            }
            if outer.payload.readableBytes == 0 {
                finish(&step)
                return
            }
            var one = EventStreamDecoder()
            one.append(outer.payload)
            let decoded: EventStreamMessage?
            do {
                decoded = try one.nextMessage()
                if decoded != nil { try one.finish() }
            } catch {
                fail(&step, error: .validation("A signed input message does not carry one event: \(error)"))
                return
            }
            guard let decoded else {
                fail(&step, error: .validation("A signed input message does not carry a whole event."))
                return
            }
            inner = decoded
        }
        guard inner.kind == .event, inner.eventType == "chunk" else {
            fail(
                &step,
                error: .validation(
                    "Unexpected input event '\(inner.eventType ?? "(none)")'; only 'chunk' events are accepted."))
            return
        }
        guard let payload = try? JSONParser.parse(inner.payload.readableBytesView),
            let encoded = payload["bytes"]?.stringValue, let bytes = Data(base64Encoded: encoded)
        else {
            fail(&step, error: .validation("The chunk event's payload must be {\"bytes\": \"<base64>\"}."))
            return
        }
        guard let body = try? JSONParser.parse(bytes) else {
            fail(&step, error: .malformed("#: the chunk bytes are not valid JSON"))
            return
        }
        do throws(ServiceError) {
            if body["event"]?["contentEnd"] != nil {
                // Only the end of a content can make the model answer.
                try service.quotas.admit(model: model.id, region: record.region ?? "")
            }
            let answer = try conversation.receive(body, generator: service.generator)
            if let turn = answer.turn {
                service.quotas.charge(tokens: turn.totalTokens, model: model.id, region: record.region ?? "")
                record.inputTokens = (record.inputTokens ?? 0) + turn.inputTokens
                record.outputTokens = (record.outputTokens ?? 0) + turn.outputTokens
            }
            for event in answer.events {
                let payload = ConverseShapes.padded(
                    ["bytes": .string(Data(event.serialized).base64EncodedString())], index: outputEvents)
                if applyFault(before: EventFrames.event(type: "chunk", payload: payload.serialized), into: &step) {
                    return
                }
            }
        } catch {
            fail(&step, error: error)
        }
    }

    /// Adds an output frame, or the stream fault due at this point; true when the
    /// stream ended.
    private func applyFault(before frame: [UInt8], into step: inout Step) -> Bool {
        if let fault, fault.kind != .drip, outputEvents >= (fault.afterEvents ?? 1) {
            switch fault.kind {
            case .exception:
                fail(&step, error: ServiceError.injected(fault.exception, retryAfterMilliseconds: nil))
            case .corruptCRC:
                var broken = frame
                broken[broken.count - 1] ^= 0xFF
                step.frames.append(broken)
                end(&step, .close)
            case .truncate:
                step.frames.append(frame)
                end(&step, .truncateLast)
            case .close, .drip:
                end(&step, .close)
            }
            return true
        }
        step.frames.append(frame)
        outputEvents += 1
        return false
    }

    private func signatureFailure(_ step: inout Step, _ message: String, name: String = "InvalidSignatureException") {
        record.status = 403
        record.error = name
        step.frames.append(Self.frame(EventStreamWriter.error(code: name, message: message)))
        end(&step, .complete)
    }

    private func fail(_ step: inout Step, error: ServiceError) {
        record.error = error.name
        let member =
            BedrockErrorCode(rawValue: error.name)?.streamMemberName
            ?? (error.name.prefix(1).lowercased() + error.name.dropFirst())
        step.frames.append(EventFrames.exception(memberName: member, payload: error.body.serialized))
        end(&step, .complete)
    }

    private func finish(_ step: inout Step) { end(&step, .complete) }

    private func end(_ step: inout Step, _ ending: Step.Ending) {
        step.finished = true
        step.ending = ending
        done = true
        service.log.append(record)
    }

    private static func frame(_ message: EventStreamMessage) -> [UInt8] {
        (try? EventStreamEncoder().encode(message)).map { Array($0.readableBytesView) } ?? []
    }
}
