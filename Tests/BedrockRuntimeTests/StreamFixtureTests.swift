import Foundation
import HTTPTestSupport
import NIOCore
import TestSupport
import Testing

@testable import BedrockRuntime

/// Each `.bin` of the shared stream fixtures, served over a socket in small pieces,
/// must yield what boto3 yields (its `.json` says), or the same error.
@Suite struct StreamFixtureTests {
    static func folder() -> URL { ConformanceFile.streamFixtures.url }

    @Test("every fixture, split into 7-byte pieces")
    func fixtures() async throws {
        let folder = Self.folder()
        let names = try ConformanceFile.streamFixtures.names(endingIn: ".json")
        #expect(!names.isEmpty, "no fixtures in \(folder.path)")
        var checked = 0
        for name in names {
            let spec = try JSONParser.parse(try Data(contentsOf: folder.appendingPathComponent(name)))
            let binName = try #require(spec["body_file"]?.stringValue)
            let body = Array(try Data(contentsOf: folder.appendingPathComponent(binName)))
            let status = spec["http_response"]?["status"]?.intValue ?? 200
            let headers = (spec["http_response"]?["headers"]?.objectMembers ?? []).compactMap { k, v in
                v.stringValue.map { (k, $0) }
            }
            let pieces = stride(from: 0, to: body.count, by: 7).map {
                (TimeAmount.zero, Array(body[$0..<min($0 + 7, body.count)]))
            }
            let server = try await ScriptedHTTPServer.start { _, _ in
                .stream(status: status, headers: headers, parts: pieces, ending: .complete)
            }
            defer { Task { await server.shutdown() } }
            let params = ClientConformanceTests.unwrapBytes(try #require(spec["request_params"]))
            let operation = spec["operation"]?.stringValue
            let boto = try #require(spec["boto3"])
            let botoEvents = boto["events"]?.arrayValue ?? []

            if operation == "ConverseStream" {
                let request = try JSONValueDecoder().decode(ConverseRequest.self, from: params)
                let (events, error) = try await withClient(server, retry: .noRetries) {
                    client -> ([ConverseStreamEvent], BedrockError?) in
                    var events: [ConverseStreamEvent] = []
                    let e = await bedrockError {
                        for try await ev in try client.converseStream(request) { events.append(ev) }
                    }
                    return (events, e)
                }
                let expected = try botoEvents.map { ev -> ConverseStreamEvent in
                    let (type, payload) = try #require(ev.objectMembers?.first)
                    return try ConverseStreamEvent.decode(eventType: type, payload: payload)
                }
                let known = events.filter { if case .unknown = $0 { false } else { true } }
                #expect(known == expected, "\(name): events")
                if name.contains("unknown-event") {
                    #expect(
                        events.contains(
                            .unknown(
                                eventType: "someFutureEventType",
                                payload: ["contentBlockIndex": 0, "anything": [1, 2, 3]])),
                        "\(name): unknown event passed through")
                }
                Self.checkEnding(name, body: body, spec: spec, boto: boto, error: error, streamHasEndMarker: true)
                if error?.kind
                    == .service(
                        ServiceErrorCode(wireName: boto["error"]?["response"]?["Error"]?["Code"]?.stringValue ?? ""))
                {
                    #expect(
                        error?.partialResult?.text
                            == known.compactMap { if case let .contentBlockDelta(_, .text(t)) = $0 { t } else { nil } }
                            .joined())
                }
                if !(spec["body_modifications"]?.arrayValue ?? []).isEmpty, error?.kind == .incompleteStream {
                    #expect(error?.partialResult?.isComplete == false)
                }
            } else {
                var r = try JSONValueDecoder().decode(InvokeModelRequest.self, from: params)
                if params["accept"] == nil { r.accept = nil }
                let (chunks, contentType, error) = try await withClient(server, retry: .noRetries) {
                    client -> ([Data], String?, BedrockError?) in
                    let stream = try client.invokeModelWithResponseStream(r)
                    var chunks: [Data] = []
                    let e = await bedrockError {
                        for try await event in stream { if case let .chunk(d) = event { chunks.append(d) } }
                    }
                    return (chunks, stream.contentType, e)
                }
                let expected = try botoEvents.compactMap { ev -> Data? in
                    guard let b64 = ev["chunk"]?["bytes"]?["__bytes_base64__"]?.stringValue else { return nil }
                    return try #require(Data(base64Encoded: b64))
                }
                #expect(chunks == expected, "\(name): chunks")
                #expect(contentType == boto["response_members"]?["contentType"]?.stringValue)
                Self.checkEnding(name, body: body, spec: spec, boto: boto, error: error, streamHasEndMarker: false)
                #expect(server.requests.first?.header("X-Amzn-Bedrock-Accept") == "application/json")
            }
            checked += 1
        }
        print("stream fixtures: checked \(checked) fixtures from \(folder.path)")
        #expect(checked == names.count)
    }

    /// How the stream must end, given how boto3's ended.
    ///
    /// - boto3 raised a service error (a modelled exception or an `error` message, so its
    ///   `response` has a code): the same code and message.
    /// - boto3 raised anything else (`exception_class` names a parser failure such as a
    ///   checksum mismatch in a corrupted body): we fail too, and not as a service error.
    /// - boto3 raised nothing on an unmodified body: nor do we.
    /// - Deliberate difference: boto3 ends a truncated body silently. We report a cut
    ///   inside a frame as an error (bytes were lost), and a ConverseStream that stops
    ///   before `messageStop` as `IncompleteStream` (it is not a whole answer). An
    ///   InvokeModelWithResponseStream cut between frames has no end marker to miss, so
    ///   it ends cleanly there as in boto3.
    static func checkEnding(
        _ name: String, body: [UInt8], spec: JSONValue, boto: JSONValue,
        error: BedrockError?, streamHasEndMarker: Bool
    ) {
        let modified = !(spec["body_modifications"]?.arrayValue ?? []).isEmpty
        if let botoError = boto["error"], botoError != .null {
            let exceptionClass = botoError["exception_class"]?.stringValue ?? "?"
            if let code = botoError["response"]?["Error"]?["Code"]?.stringValue {
                #expect(error?.kind == .service(ServiceErrorCode(wireName: code)), "\(name): error code")
                #expect(
                    error?.message == botoError["response"]?["Error"]?["Message"]?.stringValue, "\(name): error message"
                )
            } else {
                #expect(error != nil, "\(name): boto3 raised \(exceptionClass); the client must fail too")
                if case .service? = error?.kind {
                    Issue.record("\(name): boto3's \(exceptionClass) is a parse failure, reported as a service error")
                }
            }
        } else if !modified {
            #expect(error == nil, "\(name): unexpected error \(String(describing: error))")
        } else if Self.endsInsideFrame(body) {
            #expect(error != nil, "\(name): a body cut inside a frame must fail")
            if case .service? = error?.kind { Issue.record("\(name): a cut frame reported as a service error") }
        } else if streamHasEndMarker {
            #expect(error?.kind == .incompleteStream, "\(name): truncated stream must be IncompleteStream")
        } else {
            #expect(error == nil, "\(name): a stream cut between frames ends as in boto3")
        }
    }

    /// Whether the last frame's prelude declares more bytes than the body has left.
    static func endsInsideFrame(_ body: [UInt8]) -> Bool {
        var offset = 0
        while offset < body.count {
            guard body.count - offset >= 4 else { return true }
            let total = body[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            guard total >= 16 else { return true }
            offset += total
        }
        return offset > body.count
    }
}
