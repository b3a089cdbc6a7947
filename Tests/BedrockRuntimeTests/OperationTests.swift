import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// Operations against a local HTTP server.
@Suite struct OperationTests {
    @Test("converse sends botocore's path, headers and body, and decodes the answer")
    func converseRoundTrip() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server) { try await $0.converse(helloRequest) }

        let sent = try #require(server.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.uri == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
        #expect(sent.bodyText == #"{"messages": [{"role": "user", "content": [{"text": "Hello, Claude"}]}]}"#)
        #expect(sent.header("Content-Type") == "application/json")
        #expect(sent.header("amz-sdk-request") == "attempt=1")
        #expect(sent.header("amz-sdk-invocation-id")?.count == 36)
        #expect(sent.header("User-Agent") == BedrockRuntimeClient.defaultUserAgent)

        #expect(result.text == "Hello there")
        #expect(result.stopReason == .toolUse)
        #expect(result.usage.totalTokens == 17)
        #expect(result.metrics?.latencyMs == 321)
        #expect(
            result.toolUses == [
                ToolUseBlock(toolUseId: "t1", name: "get_weather", input: ["city": "Paris", "days": 2])
            ])
        #expect(result.message?.content.last == .unknown("someNewBlock", ["x": 1]))
        #expect(result.requestId == "req-200")
        #expect(result.attempts.count == 1)
        #expect(result.attempts.first?.outcome == .success)
    }

    @Test("invokeModel sends raw bytes with its bound headers and returns raw bytes")
    func invokeModelRoundTrip() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .respond(
                status: 200,
                headers: [
                    ("Content-Type", "application/json"), ("X-Amzn-Bedrock-PerformanceConfig-Latency", "optimized"),
                ],
                body: Array(#"{"completion":"hi"}"#.utf8))
        }
        defer { Task { await server.shutdown() } }
        let body = Data(#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":512}"#.utf8)
        let request = InvokeModelRequest(
            modelId: "arn:aws:bedrock:us-west-2:123456789012:provisioned-model/abc123", body: body,
            accept: "*/*", trace: "ENABLED", guardrailIdentifier: "gr-1", guardrailVersion: "DRAFT")
        let result = try await withClient(server) { try await $0.invokeModel(request) }
        let sent = try #require(server.requests.first)
        #expect(sent.uri == "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aprovisioned-model%2Fabc123/invoke")
        #expect(sent.body == Array(body))
        #expect(sent.header("Accept") == "*/*")
        #expect(sent.header("X-Amzn-Bedrock-Trace") == "ENABLED")
        #expect(sent.header("X-Amzn-Bedrock-GuardrailIdentifier") == "gr-1")
        #expect(sent.header("X-Amzn-Bedrock-GuardrailVersion") == "DRAFT")
        #expect(result.contentType == "application/json")
        #expect(result.performanceConfigLatency == "optimized")
        #expect(try result.output.json()["completion"] == "hi")
    }

    @Test("countTokens and applyGuardrail use their paths and decode their answers")
    func countTokensAndGuardrail() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            if request.uri.hasSuffix("/count-tokens") { return .json(200, #"{"inputTokens":42}"#) }
            return .json(200, #"{"action":"GUARDRAIL_INTERVENED","outputs":[{"text":"blocked"}],"assessments":[]}"#)
        }
        defer { Task { await server.shutdown() } }
        let (count, guardrail) = try await withClient(server) { client in
            let c = try await client.countTokens(
                CountTokensRequest(modelId: "m.x-v1:0", input: .converse(messages: [.user("Hi")], system: nil)))
            let g = try await client.applyGuardrail(
                ApplyGuardrailRequest(
                    guardrailIdentifier: "gr/1", guardrailVersion: "1", source: "INPUT",
                    content: [.text(GuardrailTextBlock(text: "Is this allowed?"))]))
            return (c, g)
        }
        #expect(count.inputTokens == 42)
        #expect(guardrail.action == "GUARDRAIL_INTERVENED")
        #expect(guardrail.outputs?.first?.text == "blocked")
        let requests = server.requests
        #expect(requests[0].uri == "/model/m.x-v1%3A0/count-tokens")
        #expect(
            requests[0].bodyText
                == #"{"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}}}"#)
        #expect(requests[1].uri == "/guardrail/gr%2F1/version/1/apply")
        #expect(requests[1].bodyText == #"{"source": "INPUT", "content": [{"text": {"text": "Is this allowed?"}}]}"#)
    }

    @Test("invokeGuardrailChecks posts the API model's shape and decodes every result")
    func guardrailChecks() async throws {
        let answer = #"""
            {"results":{"contentFilter":{"results":[{"category":"INSULTS","severityScore":0.4}]},
             "promptAttack":{"results":[{"category":"PROMPT_INJECTION","severityScore":0.6}]},
             "sensitiveInformation":{"results":[{"type":"EMAIL","confidenceScore":0.99,"beginOffset":5,"endOffset":20,
               "messageIndex":1,"contentIndex":0}],"truncated":false}},
             "usage":{"contentFilter":{"textUnits":1},"promptAttack":{"textUnits":1},"sensitiveInformation":{"textUnits":1}}}
            """#
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, answer) }
        defer { Task { await server.shutdown() } }
        let request = InvokeGuardrailChecksRequest(
            messages: [
                GuardrailChecksMessage(role: .system, text: "Be kind."),
                GuardrailChecksMessage(role: .user, text: "Mail ada@example.com"),
            ],
            checks: GuardrailChecksConfig(
                contentFilter: .init(categories: ["INSULTS"]), promptAttack: .init(categories: ["PROMPT_INJECTION"]),
                sensitiveInformation: .init(entities: ["EMAIL"])))
        let result = try await withClient(server) { client in try await client.invokeGuardrailChecks(request) }
        #expect(result.output.results.contentFilter?.results.first?.severityScore == 0.4)
        #expect(result.output.results.promptAttack?.results.first?.category == "PROMPT_INJECTION")
        let entity = try #require(result.output.results.sensitiveInformation?.results.first)
        #expect(
            (entity.type, entity.beginOffset, entity.endOffset, entity.messageIndex, entity.contentIndex) == (
                "EMAIL", 5, 20, 1, 0
            ))
        #expect(result.output.usage.sensitiveInformation?.textUnits == 1)
        let sent = try #require(server.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.uri == "/guardrail-checks/invoke")
        #expect(
            sent.bodyText
                == #"{"messages": [{"role": "SYSTEM", "content": [{"text": "Be kind."}]}, {"role": "USER", "content": [{"text": "Mail ada@example.com"}]}], "checks": {"contentFilter": {"categories": [{"category": "INSULTS"}]}, "promptAttack": {"categories": [{"category": "PROMPT_INJECTION"}]}, "sensitiveInformation": {"entities": [{"type": "EMAIL"}]}}}"#
        )
    }

    @Test("invokeGuardrailChecks refuses an empty conversation or no check before sending")
    func guardrailChecksInputChecks() throws {
        #expect(throws: BedrockError.self) {
            _ = try BedrockRuntimeClient.invokeGuardrailChecksOperation(
                InvokeGuardrailChecksRequest(
                    messages: [], checks: GuardrailChecksConfig(promptAttack: .init(categories: ["JAILBREAK"]))))
        }
        #expect(throws: BedrockError.self) {
            _ = try BedrockRuntimeClient.invokeGuardrailChecksOperation(
                InvokeGuardrailChecksRequest(
                    messages: [GuardrailChecksMessage(role: .user, text: "hi")], checks: GuardrailChecksConfig()))
        }
    }

    @Test("startAsyncInvoke fills clientRequestToken; get and list (with pages) decode")
    func asyncInvokeOperations() async throws {
        let summary =
            #"{"invocationArn":"arn:aws:bedrock:us-east-1:1:async-invoke/A","modelArn":"arn:m","status":"InProgress","submitTime":"2024-06-01T00:00:00Z","outputDataConfig":{"s3OutputDataConfig":{"s3Uri":"s3://b/o"}}}"#
        let server = try await ScriptedHTTPServer.start { request, _ in
            if request.method == "POST" {
                return .json(200, #"{"invocationArn":"arn:aws:bedrock:us-east-1:1:async-invoke/A"}"#)
            }
            if request.uri.hasPrefix("/async-invoke/") { return .json(200, summary) }
            if request.uri.contains("nextToken=p2") {
                return .json(200, #"{"nextToken":"p3","asyncInvokeSummaries":[\#(summary)]}"#)
            }
            if request.uri.contains("nextToken=p3") { return .json(200, #"{"asyncInvokeSummaries":[\#(summary)]}"#) }
            return .json(200, #"{"nextToken":"p2","asyncInvokeSummaries":[\#(summary),\#(summary)]}"#)
        }
        defer { Task { await server.shutdown() } }
        let (started, got, pages) = try await withClient(server) { client in
            let s = try await client.startAsyncInvoke(
                StartAsyncInvokeRequest(
                    modelId: "amazon.nova-reel-v1:0", modelInput: ["taskType": "TEXT_VIDEO"],
                    outputDataConfig: AsyncInvokeOutputDataConfig(
                        s3OutputDataConfig: AsyncInvokeS3OutputDataConfig(s3Uri: "s3://b/o"))))
            let g = try await client.getAsyncInvoke(invocationArn: s.invocationArn)
            var pages: [ListAsyncInvokesResponse] = []
            for try await page in client.listAsyncInvokesPages(
                ListAsyncInvokesRequest(statusEquals: .inProgress, maxResults: 2))
            {
                pages.append(page)
            }
            return (s, g, pages)
        }
        #expect(started.invocationArn.hasSuffix("async-invoke/A"))
        #expect(got.status == .inProgress)
        #expect(got.submitTime == Date(timeIntervalSince1970: 1_717_200_000))
        #expect(pages.map { $0.asyncInvokeSummaries?.count ?? 0 } == [2, 1, 1])

        let requests = server.requests
        let startBody = try JSONParser.parse(requests[0].body)
        let token = try #require(startBody["clientRequestToken"]?.stringValue)
        #expect(UUID(uuidString: token) != nil)
        #expect(startBody.objectMembers?.first?.0 == "clientRequestToken")
        #expect(requests[1].uri == "/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aasync-invoke%2FA")
        #expect(requests[2].uri == "/async-invoke?statusEquals=InProgress&maxResults=2")
        #expect(requests[3].uri == "/async-invoke?statusEquals=InProgress&maxResults=2&nextToken=p2")
        #expect(requests.count == 5)
    }

    @Test("bad input is refused before anything is sent")
    func invalidInput() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, "{}") }
        defer { Task { await server.shutdown() } }
        let errors = try await withClient(server) { client in
            [
                await bedrockError {
                    _ = try await client.converse(ConverseRequest(modelId: "", messages: [.user("x")]))
                },
                await bedrockError { _ = try await client.getAsyncInvoke(invocationArn: "") },
                await bedrockError { _ = try await client.listAsyncInvokes(ListAsyncInvokesRequest(maxResults: 0)) },
            ]
        }
        #expect(errors.map { $0?.code } == ["InvalidRequest", "InvalidRequest", "InvalidRequest"])
        #expect(errors[0]?.message.contains("modelId must not be empty") == true)
        #expect(errors[2]?.message.contains("maxResults") == true)
        #expect(server.requests.isEmpty)
    }

    @Test("an answer that does not match the model is an InvalidResponse naming where")
    func malformedAnswer() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0
                ? .json(
                    200,
                    #"{"output":{"message":{"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}"#
                )
                : .json(200, "not json")
        }
        defer { Task { await server.shutdown() } }
        let (missing, notJSON) = try await withClient(server) { client in
            (
                await bedrockError { _ = try await client.converse(helloRequest) },
                await bedrockError { _ = try await client.converse(helloRequest) }
            )
        }
        #expect(missing?.kind == .invalidResponse)
        #expect(missing?.message.contains("missing member 'content' at output.message") == true)
        #expect(notJSON?.kind == .invalidResponse)
        #expect(notJSON?.message.contains("invalid JSON at byte 0") == true)
        #expect(missing?.isRetryable == false)
    }
}
