import BedrockWire
import Foundation

/// Nova Sonic's speech-to-speech event protocol, as the emulated model speaks it over
/// InvokeModelWithBidirectionalStream.
///
/// Each input `chunk` carries one `{"event": {NAME: {…}}}`: `sessionStart`,
/// `promptStart` (tools), then per content `contentStart` (role `SYSTEM`, `USER`,
/// `ASSISTANT` or `TOOL`; type `TEXT`, `AUDIO` or `TOOL`), `textInput` / `audioInput`
/// / `toolResult`, `contentEnd`; then `promptEnd` and `sessionEnd`. When a `USER` or
/// `TOOL` content ends the model answers at once, while the input stays open:
/// `completionStart`, a `TEXT` content with `textOutput`, an `AUDIO` content with
/// `audioOutput` (silent 24 kHz 16-bit mono LPCM, its length following the text), or a
/// `TOOL` content with `toolUse`; `usageEvent`; `completionEnd`. Spoken user input is
/// not transcribed: its transcript (a `USER` `textOutput`) says how long it was. The
/// answer text comes from the same deterministic generator as Converse.
struct NovaSonicConversation {
    /// The input events the protocol defines.
    static let inputEvents: Set<String> = [
        "sessionStart", "promptStart", "contentStart", "textInput", "audioInput", "toolResult",
        "contentEnd", "promptEnd", "sessionEnd",
    ]
    /// The most text (or base64 audio) one content may carry, and the conversation in all
    /// (input and answers).
    static let maxContentBytes = 1 << 20
    static let maxConversationBytes = 4 << 20
    /// Silent audio sent per output token (1 ms at 24 kHz, 16-bit mono), and at most
    /// (0.16 s). Kept short on purpose: each event then fits one HTTP/2 DATA frame, and
    /// the AWS SDK for Python (0.12) fails on an event split across frames (its reader
    /// takes a short read for a whole field).
    static let audioBytesPerToken = 48
    static let maxAudioBytes = 7_680
    /// The most audio bytes one `audioOutput` event carries (0.16 s; 10 KiB as base64).
    static let audioBytesPerEvent = 7_680

    private struct OpenContent {
        var role: String
        var type: String
        var text = ""
        var audioBytes = 0
        var toolUseID: String?
    }

    let model: ModelDescriptor
    let sessionID: String
    private var started = false
    private var ended = false
    private var promptName: String?
    private var maxTokens: Int
    private var temperature: Double?
    private var topP: Double?
    private var tools: [ToolDefinition] = []
    private var system: [String] = []
    private var messages: [ConversationMessage] = []
    private var open: [String: OpenContent] = [:]
    private var bytes = 0
    private var completions = 0

    init(model: ModelDescriptor, sessionID: String) {
        self.model = model
        self.sessionID = sessionID
        self.maxTokens = model.defaultMaxTokens
    }

    /// What one input event produced: the output events (each an `{"event": …}`
    /// object) and the generated turn, when the model answered.
    struct Answer {
        var events: [JSONValue] = []
        var turn: GeneratedTurn?
    }

    /// Takes one input event; answers when a user or tool content ends.
    mutating func receive(_ body: JSONValue, generator: ResponseGenerator) throws(ServiceError) -> Answer {
        guard case .object(let event)? = body["event"], event.count == 1, let (name, payload) = event.first else {
            throw .validation("Each input chunk must be one Nova Sonic event: {\"event\": {\"<name>\": {…}}}.")
        }
        guard Self.inputEvents.contains(name) else {
            throw .validation(
                "Unknown input event '\(RequestLog.cut(name))'; expected one of \(Self.inputEvents.sorted().joined(separator: ", "))."
            )
        }
        guard !ended else { throw .validation("The input event '\(name)' arrived after sessionEnd.") }
        guard started || name == "sessionStart" else {
            throw .validation("The first input event must be sessionStart, not '\(name)'.")
        }
        switch name {
        case "sessionStart":
            guard !started else { throw .validation("The session has already started.") }
            started = true
            try configure(payload["inferenceConfiguration"])
        case "promptStart":
            guard promptName == nil else { throw .validation("A prompt is already open; send promptEnd first.") }
            promptName = try Self.string(payload, "promptName", in: name)
            tools = try Self.tools(payload["toolConfiguration"])
        case "contentStart":
            try requirePrompt(payload, in: name)
            let content = try Self.string(payload, "contentName", in: name)
            guard open[content] == nil else {
                throw .validation("The content '\(RequestLog.cut(content))' is already open.")
            }
            let type = try Self.string(payload, "type", in: name)
            let role = try Self.string(payload, "role", in: name)
            guard ["TEXT", "AUDIO", "TOOL"].contains(type) else {
                throw .validation("contentStart.type must be TEXT, AUDIO or TOOL.")
            }
            guard ["SYSTEM", "USER", "ASSISTANT", "TOOL"].contains(role) else {
                throw .validation("contentStart.role must be SYSTEM, USER, ASSISTANT or TOOL.")
            }
            guard open.count < 16 else { throw .validation("Too many contents are open at once (at most 16).") }
            open[content] = OpenContent(
                role: role, type: type,
                toolUseID: payload["toolResultInputConfiguration"]?["toolUseId"]?.stringValue)
        case "textInput", "audioInput", "toolResult":
            try requirePrompt(payload, in: name)
            let content = try Self.string(payload, "contentName", in: name)
            guard var current = open[content] else {
                throw .validation("The content '\(RequestLog.cut(content))' was not started.")
            }
            let piece = try Self.string(payload, "content", in: name)
            bytes += piece.utf8.count
            guard current.text.utf8.count + piece.utf8.count <= Self.maxContentBytes, bytes <= Self.maxConversationBytes
            else {
                throw .validation(
                    "The conversation is too long for the emulated Nova Sonic (at most \(Self.maxContentBytes) bytes a content, \(Self.maxConversationBytes) in all)."
                )
            }
            if name == "audioInput" {
                guard current.type == "AUDIO", let audio = Data(base64Encoded: piece) else {
                    throw .validation("audioInput.content must be base64 audio for an AUDIO content.")
                }
                current.audioBytes += audio.count
            } else {
                current.text += piece
            }
            open[content] = current
        case "contentEnd":
            try requirePrompt(payload, in: name)
            let content = try Self.string(payload, "contentName", in: name)
            guard let ended = open.removeValue(forKey: content) else {
                throw .validation("The content '\(RequestLog.cut(content))' was not started.")
            }
            guard bytes <= Self.maxConversationBytes else {
                throw .validation(
                    "The conversation is too long for the emulated Nova Sonic (at most \(Self.maxConversationBytes) bytes in all, answers included)."
                )
            }
            return close(ended, generator: generator)
        case "promptEnd":
            try requirePrompt(payload, in: name)
            promptName = nil
            open = [:]
        default:  // sessionEnd
            ended = true
        }
        return Answer()
    }

    // MARK: Input

    private mutating func configure(_ inference: JSONValue?) throws(ServiceError) {
        guard let inference else { return }
        if let value = inference["maxTokens"] {
            guard let tokens = value.intValue, tokens >= 1, tokens <= model.maxOutputTokens else {
                throw .validation(
                    "inferenceConfiguration.maxTokens must be an integer from 1 to \(model.maxOutputTokens).")
            }
            maxTokens = tokens
        }
        if let value = inference["temperature"] {
            guard let number = value.doubleValue, number.isFinite, (0...1).contains(number) else {
                throw .validation("inferenceConfiguration.temperature must be a number from 0 to 1.")
            }
            temperature = number
        }
        if let value = inference["topP"] {
            guard let number = value.doubleValue, number.isFinite, (0...1).contains(number) else {
                throw .validation("inferenceConfiguration.topP must be a number from 0 to 1.")
            }
            topP = number
        }
    }

    private func requirePrompt(_ payload: JSONValue, in event: String) throws(ServiceError) {
        guard let promptName else {
            throw .validation("The input event '\(event)' needs an open prompt; send promptStart first.")
        }
        guard payload["promptName"]?.stringValue == promptName else {
            throw .validation("\(event).promptName must name the open prompt '\(RequestLog.cut(promptName))'.")
        }
    }

    private static func string(_ payload: JSONValue, _ key: String, in event: String) throws(ServiceError) -> String {
        guard let value = payload[key]?.stringValue, !value.isEmpty else {
            throw .validation("\(event).\(key) is required and must be a non-empty string.")
        }
        return value
    }

    /// `promptStart.toolConfiguration.tools[].toolSpec` (`inputSchema.json` is a JSON string).
    private static func tools(_ configuration: JSONValue?) throws(ServiceError) -> [ToolDefinition] {
        guard let list = configuration?["tools"] else { return [] }
        guard case .array(let entries) = list, entries.count <= 64 else {
            throw .validation("promptStart.toolConfiguration.tools must be a list of at most 64 tools.")
        }
        var tools: [ToolDefinition] = []
        for entry in entries {
            guard let spec = entry["toolSpec"], let name = spec["name"]?.stringValue, !name.isEmpty else {
                throw .validation("Each tool needs toolSpec.name.")
            }
            var schema: JSONValue = ["type": "object"]
            if let text = spec["inputSchema"]?["json"]?.stringValue {
                guard let parsed = try? JSONParser.parse(Array(text.utf8)) else {
                    throw .validation("toolSpec.inputSchema.json of '\(RequestLog.cut(name))' is not valid JSON.")
                }
                schema = parsed
            }
            tools.append(ToolDefinition(name: name, description: spec["description"]?.stringValue, schema: schema))
        }
        return tools
    }

    // MARK: Output

    private mutating func close(_ content: OpenContent, generator: ResponseGenerator) -> Answer {
        switch content.role {
        case "SYSTEM":
            if !content.text.isEmpty { system.append(content.text) }
            return Answer()
        case "ASSISTANT":
            if !content.text.isEmpty {
                messages.append(ConversationMessage(role: .assistant, blocks: [.text(content.text)]))
            }
            return Answer()
        case "TOOL":
            let id = content.toolUseID ?? ""
            messages.append(
                ConversationMessage(role: .user, blocks: [.toolResult(id: id, text: content.text, isError: false)]))
            return answer(transcript: nil, generator: generator)
        default:  // USER
            if content.type == "AUDIO" {
                // 16 kHz 16-bit mono input: 32 bytes a millisecond.
                let spoken = "(\(content.audioBytes / 32) ms of speech)"
                messages.append(ConversationMessage(role: .user, blocks: [.text(spoken), .media(kind: "audio")]))
                return answer(transcript: spoken, generator: generator)
            }
            messages.append(ConversationMessage(role: .user, blocks: [.text(content.text)]))
            return answer(transcript: nil, generator: generator)
        }
    }

    private mutating func answer(transcript: String?, generator: ResponseGenerator) -> Answer {
        let request = GenerationRequest(
            model: model, system: system, messages: messages, tools: tools,
            toolSelection: .auto, maxTokens: maxTokens, temperature: temperature, topP: topP)
        let turn = generator.generate(request)
        completions += 1
        let completion = "completion-\(completions)"
        var ids = 0
        func nextID() -> String {
            ids += 1
            return "\(completion)-content-\(ids)"
        }
        var events: [JSONValue] = [event("completionStart", ["completionId": .string(completion)])]
        func content(
            _ type: String, role: String, _ body: [(String, JSONValue)], stop: String,
            extra: [String: JSONValue] = [:]
        ) {
            let id = nextID()
            var start: [String: JSONValue] = [
                "completionId": .string(completion), "contentId": .string(id),
                "type": .string(type), "role": .string(role),
            ]
            start.merge(extra) { $1 }
            events.append(event("contentStart", start))
            for (name, payload) in body {
                var fields: [String: JSONValue] = ["completionId": .string(completion), "contentId": .string(id)]
                for (key, value) in payload.objectMembers ?? [] { fields[key] = value }
                events.append(event(name, fields))
            }
            events.append(
                event(
                    "contentEnd",
                    [
                        "completionId": .string(completion), "contentId": .string(id),
                        "type": .string(type), "stopReason": .string(stop),
                    ]))
        }
        if let transcript {
            content(
                "TEXT", role: "USER", [("textOutput", ["content": .string(transcript), "role": "USER"])],
                stop: "END_TURN")
        }
        let final: [String: JSONValue] = ["additionalModelFields": .string(#"{"generationStage":"FINAL"}"#)]
        for block in turn.blocks {
            switch block {
            case .text(let text):
                content(
                    "TEXT", role: "ASSISTANT", [("textOutput", ["content": .string(text), "role": "ASSISTANT"])],
                    stop: "END_TURN", extra: final)
                let audio = min(Self.maxAudioBytes, max(1, TokenCounter.count(text)) * Self.audioBytesPerToken)
                // Sent in pieces as the service does: each event stays well inside one
                // HTTP/2 DATA frame (clients may not reassemble an event split across frames).
                let pieces = stride(from: 0, to: audio, by: Self.audioBytesPerEvent).map { start in
                    (
                        "audioOutput",
                        JSONValue([
                            "content": JSONValue.string(
                                Data(count: min(Self.audioBytesPerEvent, audio - start)).base64EncodedString())
                        ])
                    )
                }
                content(
                    "AUDIO", role: "ASSISTANT", pieces,
                    stop: "END_TURN",
                    extra: [
                        "audioOutputConfiguration": [
                            "mediaType": "audio/lpcm", "sampleRateHertz": 24000, "sampleSizeBits": 16,
                            "channelCount": 1, "encoding": "base64", "audioType": "SPEECH",
                        ]
                    ])
                messages.append(ConversationMessage(role: .assistant, blocks: [.text(text)]))
                // Answers join the history too: they count against the conversation's cap.
                bytes += text.utf8.count
            case .toolUse(let id, let name, let input):
                content(
                    "TOOL", role: "TOOL",
                    [
                        (
                            "toolUse",
                            [
                                "toolName": .string(name), "toolUseId": .string(id),
                                "content": .string(input.text),
                            ]
                        )
                    ],
                    stop: "TOOL_USE")
                messages.append(
                    ConversationMessage(role: .assistant, blocks: [.toolUse(id: id, name: name, input: input)]))
            case .reasoning:
                continue
            }
        }
        events.append(
            event(
                "usageEvent",
                [
                    "completionId": .string(completion),
                    "totalInputTokens": .int(turn.inputTokens), "totalOutputTokens": .int(turn.outputTokens),
                    "totalTokens": .int(turn.inputTokens + turn.outputTokens),
                ]))
        let stop = turn.stopReason == .toolUse ? "TOOL_USE" : "END_TURN"
        events.append(event("completionEnd", ["completionId": .string(completion), "stopReason": .string(stop)]))
        return Answer(events: events, turn: turn)
    }

    private func event(_ name: String, _ fields: [String: JSONValue]) -> JSONValue {
        var payload = fields
        payload["sessionId"] = .string(sessionID)
        if let promptName { payload["promptName"] = .string(promptName) }
        return ["event": .object([(name, JSONValue(payload))])]
    }
}
