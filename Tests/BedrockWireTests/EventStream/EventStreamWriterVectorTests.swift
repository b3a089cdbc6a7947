import BedrockWire
import Foundation
import NIOCore
import Testing

/// EventStreamWriter against the vectors.
@Suite struct EventStreamWriterVectorTests {
    @Test func exceptionsAndErrorsMatchTheRecordedBytes() throws {
        let (file, _) = try EventStreamVectorFile.load()
        func bytes(_ id: String) throws -> [UInt8] {
            try #require(file.valid.first { $0.id == id }, "vector \(id) missing").messageBytes()
        }
        let writer = EventStreamWriter()
        let throttling = try writer.frame(
            EventStreamWriter.exception(.throttling, message: "Too many requests, please wait before trying again."))
        #expect(Array(throttling.readableBytesView) == (try bytes("exception-throttling")))
        let internalError = try writer.frame(
            EventStreamWriter.exception(.internalServer, message: "An internal server error occurred."))
        #expect(Array(internalError.readableBytesView) == (try bytes("exception-internalServer")))
        let streamError = EventStreamWriter.exception(
            BedrockErrorCode.modelStreamError.streamMemberName,
            payload: EventStreamWriter.exceptionPayload(
                message: "Model stream error",
                extraMembers: [
                    (name: "originalMessage", json: #""upstream model failure""#),
                    (name: "originalStatusCode", json: "424"),
                ]))
        #expect(Array(try writer.frame(streamError).readableBytesView) == (try bytes("exception-modelStreamError")))
        let unmodelled = try writer.frame(
            EventStreamWriter.error(code: "InternalFailure", message: "An internal error occurred"))
        #expect(Array(unmodelled.readableBytesView) == (try bytes("error-unmodelled")))
        var event = ByteBuffer()
        try writer.writeEvent(
            "messageStop", payload: ByteBuffer(string: #"{"p":"abcdefghijklmnopq","stopReason":"end_turn"}"#),
            into: &event)
        #expect(Array(event.readableBytesView) == (try bytes("converse-messageStop")))
    }

    @Test func exceptionMessagesAreJSONEscaped() throws {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{07} slash / ünïcode"
        let payload = EventStreamWriter.exceptionPayload(message: text)
        let decoded = try JSONSerialization.jsonObject(with: Data(payload.readableBytesView)) as? [String: String]
        #expect(decoded == ["message": text])
        #expect(
            String(buffer: payload)
                == #"{"message":"quote \" backslash \\ newline \n tab \t bell \u0007 slash / ünïcode"}"#)
    }
}
