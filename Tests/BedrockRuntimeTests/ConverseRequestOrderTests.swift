import BedrockWire
import Testing

@testable import BedrockRuntime

/// `ConverseRequest`'s Codable conformance keeps free-form members in document order
/// through the shared JSON stack (which BedrockWireTests' `JSONTests` covers).
@Suite("ConverseRequest keeps member order")
struct ConverseRequestOrderTests {
    @Test("member order survives parse → decode → encode → write")
    func orderSurvives() throws {
        let text =
            #"{"modelId":"m","messages":[{"role":"user","content":[{"text":"hi"}]}],"additionalModelRequestFields":{"z":1,"a":[true,null,2.5]}}"#
        let request = try JSONValueDecoder().decode(ConverseRequest.self, from: Array(text.utf8))
        let written = JSONWriter.botocore.string(try JSONValueEncoder().encode(request))
        #expect(
            written
                == #"{"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}], "additionalModelRequestFields": {"z": 1, "a": [true, null, 2.5]}}"#
        )
    }
}
