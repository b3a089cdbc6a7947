import BedrockWire
import Foundation
import Testing

@testable import BedrockEmulator

/// The Converse fields of the current API model the emulator accepts and produces:
/// `outputConfig.effort`, `searchResult` and `audio` blocks, `systemTool` tools,
/// `toolAddition` / `toolRemoval` in system-role messages, cache-point time to live and
/// usage `cacheDetails`.
@Suite struct ConverseFieldsTests {
    @Test("outputConfig.effort takes the API's levels and refuses others")
    func effort() async throws {
        try await withEmulator { _, client in
            let ok = try await client.send(
                "/model/\(claude)/converse",
                json: converseBody("Plan a trip", extra: ["outputConfig": ["effort": "high"]]))
            #expect(ok.status == 200)
            let bad = try await client.send(
                "/model/\(claude)/converse",
                json: converseBody("Plan a trip", extra: ["outputConfig": ["effort": "extreme"]]))
            #expect(bad.status == 400 && bad.errorType == "ValidationException")
            #expect(bad.json?["message"]?.stringValue?.contains("outputConfig.effort") == true)
            #expect(bad.json?["message"]?.stringValue?.contains("low, medium, high, xhigh, max") == true)
        }
    }

    @Test("a searchResult block is read (its passages count and are reflected); one without a title is refused")
    func searchResult() async throws {
        try await withEmulator { _, client in
            let result: JSONValue = [
                "source": "https://example.com/granite", "title": "Granite",
                "content": [["text": "Granite is an igneous rock rich in quartz and feldspar."]],
            ]
            func body(_ block: JSONValue) -> JSONValue {
                [
                    "messages": [
                        ["role": "user", "content": [["searchResult": block], ["text": "Summarise the result"]]]
                    ]
                ]
            }
            let plain = try await client.send("/model/\(claude)/converse", json: converseBody("Summarise the result"))
            let grounded = try await client.send("/model/\(claude)/converse", json: body(result))
            #expect(grounded.status == 200)
            let plainTokens = try #require(plain.json?["usage"]?["inputTokens"]?.intValue)
            let groundedTokens = try #require(grounded.json?["usage"]?["inputTokens"]?.intValue)
            #expect(groundedTokens > plainTokens + 5)
            let text = grounded.json?["output"]?["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue ?? ""
            #expect(text.contains("Granite"), "the answer reflects the search result: \(text)")
            var untitled = result
            untitled["title"] = nil
            let refused = try await client.send("/model/\(claude)/converse", json: body(untitled))
            #expect(refused.status == 400 && refused.errorType == "ValidationException")
        }
    }

    @Test("audio to a model that does not take audio is a ValidationException with the service's wording")
    func audioModality() async throws {
        try await withEmulator { _, client in
            let audio: JSONValue = [
                "messages": [
                    [
                        "role": "user",
                        "content": [
                            [
                                "audio": [
                                    "format": "mp3",
                                    "source": ["bytes": .string(Data([1, 2, 3]).base64EncodedString())],
                                ]
                            ],
                            ["text": "Transcribe this"],
                        ],
                    ]
                ]
            ]
            let refused = try await client.send("/model/amazon.nova-lite-v1:0/converse", json: audio)
            #expect(refused.status == 400)
            #expect(refused.json?["message"]?.stringValue?.contains("doesn't support the audio content block") == true)
        }
    }

    @Test(
        "systemTool tools are accepted and never called; toolRemoval hides a declared tool, toolAddition brings it back"
    )
    func toolSetChanges() async throws {
        try await withEmulator { _, client in
            let tools: JSONValue = [
                "tools": [
                    [
                        "toolSpec": [
                            "name": "get_weather", "description": "Current weather for a city",
                            "inputSchema": ["json": ["type": "object", "properties": ["city": ["type": "string"]]]],
                        ]
                    ],
                    ["systemTool": ["name": "nova_grounding"]],
                ]
            ]
            func ask(_ system: [JSONValue]) async throws -> EmulatorHTTPClient.Reply {
                var messages: [JSONValue] = [["role": "user", "content": [["text": "What is the weather in Lisbon?"]]]]
                if !system.isEmpty { messages.insert(["role": "system", "content": .array(system)], at: 0) }
                return try await client.send(
                    "/model/\(claude)/converse", json: ["messages": .array(messages), "toolConfig": tools])
            }
            let called = try await ask([])
            #expect(called.json?["stopReason"]?.stringValue == "tool_use")
            let removed = try await ask([["toolRemoval": ["tool": ["name": "get_weather"]]]])
            #expect(removed.status == 200)
            #expect(removed.json?["stopReason"]?.stringValue == "end_turn", "a removed tool is not called")
            let back = try await ask([
                ["toolRemoval": ["tool": ["name": "get_weather"]]], ["toolAddition": ["tool": ["name": "get_weather"]]],
            ])
            #expect(back.json?["stopReason"]?.stringValue == "tool_use")
            let unknown = try await ask([["toolAddition": ["tool": ["name": "get_time"]]]])
            #expect(unknown.status == 400)
            #expect(unknown.json?["message"]?.stringValue?.contains("not defined in toolConfig.tools") == true)
            let misplaced = try await client.send(
                "/model/\(claude)/converse",
                json: [
                    "messages": [["role": "user", "content": [["toolRemoval": ["tool": ["name": "get_weather"]]]]]],
                    "toolConfig": tools,
                ])
            #expect(misplaced.status == 400)
            #expect(misplaced.json?["message"]?.stringValue?.contains("system role") == true)
        }
    }

    @Test("a cache point's ttl is reported in usage.cacheDetails on the write; a bad ttl is refused")
    func cacheDetails() async throws {
        try await withEmulator { _, client in
            let body: JSONValue = [
                "system": [
                    ["text": "You are a patient geology tutor who explains rocks and minerals to children."],
                    ["cachePoint": ["type": "default", "ttl": "1h"]],
                ],
                "messages": [["role": "user", "content": [["text": "What is quartz?"]]]],
            ]
            let first = try await client.send("/model/\(claude)/converse", json: body)
            let usage = try #require(first.json?["usage"])
            let written = try #require(usage["cacheWriteInputTokens"]?.intValue)
            #expect(written > 0)
            let details = try #require(usage["cacheDetails"]?.arrayValue)
            #expect(details.count == 1)
            #expect(details.first?["ttl"]?.stringValue == "1h")
            #expect(details.first?["inputTokens"]?.intValue == written)
            let second = try await client.send("/model/\(claude)/converse", json: body)
            #expect(second.json?["usage"]?["cacheReadInputTokens"]?.intValue == written)
            #expect(second.json?["usage"]?["cacheDetails"] == nil, "a read writes nothing")
            var badTTL = body
            badTTL["system"] = [["text": "tutor"], ["cachePoint": ["type": "default", "ttl": "2d"]]]
            let refused = try await client.send("/model/\(claude)/converse", json: badTTL)
            #expect(refused.status == 400)
            #expect(refused.json?["message"]?.stringValue?.contains("[5m, 1h]") == true)
        }
    }

    @Test("a searchResult with citations enabled makes the answer a citationsContent block citing it")
    func searchResultCitations() async throws {
        try await withEmulator { _, client in
            let cited: JSONValue = [
                "source": "https://example.com/granite", "title": "Granite",
                "content": [["text": "Granite is rich in quartz."]], "citations": ["enabled": true],
            ]
            let plain: JSONValue = [
                "source": "https://example.com/slate", "title": "Slate", "content": [["text": "Slate splits."]],
            ]
            let reply = try await client.send(
                "/model/\(claude)/converse",
                json: [
                    "messages": [
                        [
                            "role": "user",
                            "content": [
                                ["searchResult": plain], ["searchResult": cited], ["text": "Summarise the results"],
                            ],
                        ]
                    ]
                ])
            let block = try #require(
                reply.json?["output"]?["message"]?["content"]?.arrayValue?.first?["citationsContent"])
            #expect(block["content"]?.arrayValue?.first?["text"]?.stringValue?.isEmpty == false)
            let citations = try #require(block["citations"]?.arrayValue)
            #expect(citations.count == 1, "only the search result with citations enabled is cited")
            #expect(citations.first?["title"]?.stringValue == "Granite")
            #expect(citations.first?["location"]?["searchResultLocation"]?["searchResultIndex"]?.intValue == 1)
            #expect(
                citations.first?["sourceContent"]?.arrayValue?.first?["text"]?.stringValue
                    == "Granite is rich in quartz.")
        }
    }
}
