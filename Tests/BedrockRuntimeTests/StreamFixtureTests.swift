import Foundation
import NIOCore
import Testing
@testable import BedrockRuntime

/// Each `.bin` of the shared stream fixtures, served over a socket in small pieces,
/// must yield what boto3 yields (its `.json` says), or the same error.
@Suite("Stream fixtures: the client yields what boto3 yields")
struct StreamFixtureTests {
    static func folder() -> URL {
        if let override = ProcessInfo.processInfo.environment["QUARRY_STREAM_FIXTURES"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/conformance/stream-fixtures")
    }

    @Test("every fixture, split into 7-byte pieces")
    func fixtures() async throws {
        let folder = Self.folder()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(!names.isEmpty, "no fixtures in \(folder.path)")
        var checked = 0
        for name in names {
            let spec = try JSONParser.parse(try Data(contentsOf: folder.appendingPathComponent(name)))
            let binName = try #require(spec["body_file"]?.stringValue)
            let body = Array(try Data(contentsOf: folder.appendingPathComponent(binName)))
            let status = spec["http_response"]?["status"]?.intValue ?? 200
            let headers = (spec["http_response"]?["headers"]?.objectMembers ?? []).compactMap { k, v in v.stringValue.map { (k, $0) } }
            let pieces = stride(from: 0, to: body.count, by: 7).map { (TimeAmount.zero, Array(body[$0..<min($0 + 7, body.count)])) }
            let server = try await ScriptedHTTPServer.start { _, _ in .stream(status: status, headers: headers, parts: pieces, ending: .complete) }
            defer { Task { await server.shutdown() } }
            let params = ClientConformanceTests.unwrapBytes(try #require(spec["request_params"]))
            let operation = spec["operation"]?.stringValue
            let boto = try #require(spec["boto3"])
            let botoEvents = boto["events"]?.arrayValue ?? []

            if operation == "ConverseStream" {
                let request = try JSONValueDecoder().decode(ConverseRequest.self, from: params)
                let (events, error) = try await withClient(server, retry: .noRetries) { client -> ([ConverseStreamEvent], BedrockError?) in
                    var events: [ConverseStreamEvent] = []
                    let e = await bedrockError { for try await ev in try client.converseStream(request) { events.append(ev) } }
                    return (events, e)
                }
                let expected = try botoEvents.map { ev -> ConverseStreamEvent in
                    let (type, payload) = try #require(ev.objectMembers?.first)
                    return try ConverseStreamEvent.decode(eventType: type, payload: payload)
                }
                let known = events.filter { if case .unknown = $0 { false } else { true } }
                #expect(known == expected, "\(name): events")
                if name.contains("unknown-event") {
                    #expect(events.contains(.unknown(eventType: "someFutureEventType", payload: ["contentBlockIndex": 0, "anything": [1, 2, 3]])),
                            "\(name): unknown event passed through")
                }
                if let botoError = boto["error"], botoError != .null {
                    let code = botoError["response"]?["Error"]?["Code"]?.stringValue ?? ""
                    #expect(error?.kind == .service(ServiceErrorCode(wireName: code)), "\(name): error code")
                    #expect(error?.message == botoError["response"]?["Error"]?["Message"]?.stringValue, "\(name): error message")
                    #expect(error?.partialResult?.text == known.compactMap { if case let .contentBlockDelta(_, .text(t)) = $0 { t } else { nil } }.joined())
                } else if (spec["body_modifications"]?.arrayValue ?? []).isEmpty {
                    #expect(error == nil, "\(name): unexpected error \(String(describing: error))")
                } else {
                    // boto3 silently ends a truncated stream; we report it.
                    #expect(error?.kind == .incompleteStream, "\(name): truncated stream must be IncompleteStream")
                    #expect(error?.partialResult?.isComplete == false)
                }
            } else {
                var r = try JSONValueDecoder().decode(InvokeModelRequest.self, from: params)
                if params["accept"] == nil { r.accept = nil }
                let result = try await withClient(server, retry: .noRetries) { client in
                    let stream = try client.invokeModelWithResponseStream(r)
                    let chunks = try await stream.collectChunks()
                    return (chunks, stream.contentType)
                }
                let expected = try botoEvents.map { ev -> Data in
                    let b64 = try #require(ev["chunk"]?["bytes"]?["__bytes_base64__"]?.stringValue)
                    return try #require(Data(base64Encoded: b64))
                }
                #expect(result.0.output == expected, "\(name): chunks")
                #expect(result.1 == boto["response_members"]?["contentType"]?.stringValue)
                #expect(server.requests.first?.header("X-Amzn-Bedrock-Accept") == "application/json")
            }
            checked += 1
        }
        print("stream fixtures: checked \(checked) fixtures from \(folder.path)")
        #expect(checked == names.count)
    }
}
