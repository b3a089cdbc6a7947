import Foundation
import Testing
@testable import BedrockEmulator

/// Nova Reel is served asynchronously only.
@Suite struct NovaReelTests {
    @Test("Converse and InvokeModel refuse it; StartAsyncInvoke takes it")
    func asyncOnly() async throws {
        try await withEmulator { _, client in
            let reel = "amazon.nova-reel-v1:1"
            let converse = try await client.send("/model/\(reel)/converse", json: converseBody("A drone shot of a quarry"))
            #expect(converse.status == 400 && converse.errorType == "ValidationException")
            let invoke = try await client.send("/model/\(reel)/invoke", json: ["taskType": "TEXT_VIDEO"])
            #expect(invoke.status == 400)
            #expect(invoke.json?["message"]?.stringValue?.contains("Use StartAsyncInvoke instead") == true)
            let started = try await client.send("/async-invoke", json: [
                "modelId": .string(reel), "modelInput": ["taskType": "TEXT_VIDEO", "textToVideoParams": ["text": "A quarry at dawn"]],
                "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": "s3://bucket/videos"]]])
            #expect(started.status == 200)
            #expect(started.json?["invocationArn"]?.stringValue?.hasPrefix("arn:aws:bedrock:us-east-1:") == true)
        }
    }
}
