import BedrockWire
import NIOCore
import Testing

@testable import BedrockEmulator

/// A stream fault naming an unmodelled error code (`InternalFailure`) ends the stream
/// with a `:message-type: error` frame, as AWS's front end does mid-stream.
@Suite struct StreamErrorFrameTests {
    @Test("exception = InternalFailure sends an error frame after N events")
    func internalFailureFrame() async throws {
        try await withEmulator { emulator, client in
            try emulator.addFault(
                FaultRule(
                    operation: "ConverseStream", stream: "exception", afterEvents: 2,
                    exception: "InternalFailure"))
            let reply = try await client.send("/model/\(claude)/converse-stream", json: converseBody("Stream me"))
            #expect(reply.status == 200)
            var decoder = EventStreamDecoder()
            decoder.append(ByteBuffer(bytes: Array(reply.body)))
            var messages: [EventStreamMessage] = []
            while let message = try decoder.nextMessage() { messages.append(message) }
            try #require(messages.count == 3)
            #expect(messages.prefix(2).allSatisfy { $0.kind == .event })
            let last = messages[2]
            #expect(last.kind == .error)
            #expect(last.errorCode == "InternalFailure")
            #expect(last.errorMessage?.contains("unknown error") == true)
            #expect(last.payload.readableBytes == 0)
        }
    }

    @Test("the rule accepts the unmodelled codes and names them when refusing another")
    func ruleValidation() throws {
        let effect = try FaultRule(stream: "exception", exception: "InternalFailure").effect()
        guard case .stream(let fault) = effect else { Issue.record("not a stream fault: \(effect)"); return }
        #expect(fault.unmodelledErrorCode == "InternalFailure")
        do {
            _ = try FaultRule(stream: "exception", exception: "InternalFailures").effect()
            Issue.record("a misspelt code was accepted")
        } catch {
            #expect(error.message.contains("InternalFailure, RequestTimeout"))
        }
    }
}
