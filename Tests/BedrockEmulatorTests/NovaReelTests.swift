import Foundation
import Testing

@testable import BedrockEmulator

/// Nova Reel is served asynchronously only, Nova Sonic over a bidirectional stream only;
/// StartAsyncInvoke serves no other model.
@Suite struct NovaReelTests {
    @Test("Converse and InvokeModel refuse it; StartAsyncInvoke takes it")
    func asyncOnly() async throws {
        try await withEmulator { _, client in
            let reel = "amazon.nova-reel-v1:1"
            let converse = try await client.send(
                "/model/\(reel)/converse", json: converseBody("A drone shot of a quarry"))
            #expect(converse.status == 400 && converse.errorType == "ValidationException")
            let invoke = try await client.send("/model/\(reel)/invoke", json: ["taskType": "TEXT_VIDEO"])
            #expect(invoke.status == 400)
            #expect(invoke.json?["message"]?.stringValue?.contains("Use StartAsyncInvoke instead") == true)
            let started = try await client.send(
                "/async-invoke",
                json: [
                    "modelId": .string(reel),
                    "modelInput": ["taskType": "TEXT_VIDEO", "textToVideoParams": ["text": "A quarry at dawn"]],
                    "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": "s3://bucket/videos"]],
                ])
            #expect(started.status == 200)
            #expect(started.json?["invocationArn"]?.stringValue?.hasPrefix("arn:aws:bedrock:us-east-1:") == true)
        }
    }

    @Test("StartAsyncInvoke refuses a text model with the service's wording")
    func asyncInvokeOnlyForReel() async throws {
        try await withEmulator { emulator, client in
            for model in ["amazon.nova-lite-v1:0", claude, "amazon.nova-sonic-v1:0"] {
                let started = try await client.send(
                    "/async-invoke",
                    json: [
                        "modelId": .string(model), "modelInput": ["messages": []],
                        "outputDataConfig": ["s3OutputDataConfig": ["s3Uri": "s3://bucket/out"]],
                    ])
                #expect(started.status == 400 && started.errorType == "ValidationException")
                #expect(started.json?["message"]?.stringValue?.contains("doesn't support StartAsyncInvoke") == true)
            }
            let listed = try await client.send("/async-invoke", method: "GET")
            #expect(listed.json?["asyncInvokeSummaries"]?.arrayValue?.isEmpty == true, "no job was created")
            _ = emulator
        }
    }

    @Test("Nova Sonic is in the catalogue, speaks audio, and Converse and InvokeModel refuse it")
    func sonicOnlyBidirectional() async throws {
        let sonic = try #require(ModelCatalog.standard.resolve("amazon.nova-sonic-v1:0"))
        #expect(sonic.family.servesBidirectionalStream && !sonic.family.servesAsyncInvoke)
        #expect(sonic.accepts("audio") && !sonic.accepts("image"))
        #expect(
            ModelCatalog.standard.models.filter { $0.family.servesBidirectionalStream }.map(\.id) == [
                "amazon.nova-sonic-v1:0"
            ])
        #expect(
            ModelCatalog.standard.models.filter { $0.family.servesAsyncInvoke }.map(\.id) == ["amazon.nova-reel-v1:1"])
        try await withEmulator { _, client in
            let converse = try await client.send("/model/amazon.nova-sonic-v1:0/converse", json: converseBody("hello"))
            #expect(converse.status == 400 && converse.errorType == "ValidationException")
            #expect(
                converse.json?["message"]?.stringValue?.contains("Use InvokeModelWithBidirectionalStream instead")
                    == true)
            let invoke = try await client.send("/model/amazon.nova-sonic-v1:0/invoke", json: ["messages": []])
            #expect(
                invoke.json?["message"]?.stringValue?.contains("Use InvokeModelWithBidirectionalStream instead") == true
            )
        }
    }
}
