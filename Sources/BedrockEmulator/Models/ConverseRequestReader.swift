import BedrockWire

/// Reads and validates the JSON body of Converse, ConverseStream and the `converse`
/// input of CountTokens, with the service's validation messages.
struct ConverseRequestReader {
    let model: ModelDescriptor

    /// The conversation as a generation request.
    func read(_ body: JSONValue) throws(ServiceError) -> GenerationRequest {
        guard case .object = body else { throw ServiceError.validation("The request body must be a JSON object.") }
        var request = GenerationRequest(model: model, maxTokens: model.defaultMaxTokens)
        let (messages, inline) = try readMessages(body["messages"])
        request.messages = messages
        request.system = try readSystem(body["system"])
        try readToolConfig(body["toolConfig"], into: &request)
        request.system += inline.system
        try applyToolChanges(inline.toolChanges, to: &request)
        try readInferenceConfig(body["inferenceConfig"], into: &request)
        try readAdditionalFields(body["additionalModelRequestFields"], into: &request)
        request.outputSchema = try readOutputConfig(body["outputConfig"])
        request.effort = try readEffort(body["outputConfig"])
        request.guardrail = try readGuardrailConfig(body["guardrailConfig"])
        request.cachePrefix = CachePrefix.of(body, model: model.id)
        try checkToolTurns(request.messages)
        request.citations = Self.searchResultCitations(body["messages"])
        return request
    }

    /// `guardrailConfig` = `{guardrailIdentifier, guardrailVersion, trace}`.
    private func readGuardrailConfig(_ value: JSONValue?) throws(ServiceError) -> GuardrailRequest? {
        guard let value, value != .null else { return nil }
        guard let identifier = value["guardrailIdentifier"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'guardrailConfig.guardrailIdentifier' failed to satisfy constraint: Member must not be null"
            )
        }
        guard let version = value["guardrailVersion"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'guardrailConfig.guardrailVersion' failed to satisfy constraint: Member must not be null"
            )
        }
        guard version == "DRAFT" || (Int(version).map { $0 >= 1 } ?? false) else {
            throw .constraint(
                "guardrailConfig.guardrailVersion", value: version,
                "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))")
        }
        let trace = value["trace"]?.stringValue ?? "disabled"
        guard ["enabled", "disabled", "enabled_full"].contains(trace) else {
            throw .constraint(
                "guardrailConfig.trace", value: trace,
                "Member must satisfy enum value set: [enabled, disabled, enabled_full]")
        }
        return GuardrailRequest(identifier: identifier, version: version, trace: trace != "disabled")
    }

    /// `outputConfig.textFormat` = `{type: "JSON_SCHEMA", structure: {jsonSchema:
    /// {schema: "<JSON text>", name, description}}}`: the schema the answer's text must
    /// satisfy (nil without one).
    private func readOutputConfig(_ value: JSONValue?) throws(ServiceError) -> JSONValue? {
        guard let value, value != .null else { return nil }
        guard value.objectValue != nil else { throw .validation("The outputConfig field must be an object.") }
        guard let format = value["textFormat"], format != .null else { return nil }
        guard let type = format["type"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'outputConfig.textFormat.type' failed to satisfy constraint: Member must not be null"
            )
        }
        guard type == "JSON_SCHEMA" else {
            throw .constraint(
                "outputConfig.textFormat.type", value: type, "Member must satisfy enum value set: [JSON_SCHEMA]")
        }
        guard let text = format["structure"]?["jsonSchema"]?["schema"]?.stringValue else {
            throw .validation(
                "1 validation error detected: Value null at 'outputConfig.textFormat.structure.jsonSchema.schema' failed to satisfy constraint: Member must not be null"
            )
        }
        guard let schema = try? JSONParser.parse(Array(text.utf8)), schema.objectValue != nil else {
            throw .validation("The provided JSON schema in outputConfig.textFormat is not a valid JSON object.")
        }
        return schema
    }

    /// The effort levels `outputConfig.effort` takes.
    static let effortLevels = ["low", "medium", "high", "xhigh", "max"]

    /// `outputConfig.effort`: one of ``effortLevels``.
    private func readEffort(_ value: JSONValue?) throws(ServiceError) -> String? {
        guard let effort = value?["effort"], effort != .null else { return nil }
        guard let level = effort.stringValue, Self.effortLevels.contains(level) else {
            throw .constraint(
                "outputConfig.effort", value: RequestLog.cut(effort.text),
                "Member must satisfy enum value set: [\(Self.effortLevels.joined(separator: ", "))]")
        }
        return level
    }

    /// What `system`-role messages carry besides the conversation: text (added to the
    /// system prompt) and `toolAddition` / `toolRemoval` blocks, in order.
    struct InlineSystem {
        var system: [String] = []
        /// (added, tool name) in message order.
        var toolChanges: [(added: Bool, name: String)] = []
    }

    /// Applies `toolAddition` / `toolRemoval` blocks: each names a tool declared in
    /// `toolConfig`; a removed tool is not offered to the model until added again.
    private func applyToolChanges(_ changes: [(added: Bool, name: String)], to request: inout GenerationRequest)
        throws(ServiceError)
    {
        guard !changes.isEmpty else { return }
        let declared = request.tools
        var removed: Set<String> = []
        for change in changes {
            guard declared.contains(where: { $0.name == change.name }) else {
                throw .validation(
                    "The tool \(RequestLog.cut(change.name)) in a \(change.added ? "toolAddition" : "toolRemoval") block is not defined in toolConfig.tools."
                )
            }
            if change.added { removed.remove(change.name) } else { removed.insert(change.name) }
        }
        request.tools = declared.filter { !removed.contains($0.name) }
        if case .named(let name) = request.toolSelection, removed.contains(name) {
            throw .validation(
                "The tool \(RequestLog.cut(name)) specified in toolChoice was removed by a toolRemoval block.")
        }
    }

    private func readMessages(_ value: JSONValue?) throws(ServiceError) -> ([ConversationMessage], InlineSystem) {
        guard let value, value != .null else {
            throw .validation(
                "A conversation must start with a user message. Try again with a conversation that starts with a user message."
            )
        }
        guard let items = value.arrayValue else {
            throw .validation("The messages field must be a list of Message objects.")
        }
        var messages: [ConversationMessage] = []
        var inline = InlineSystem()
        for (index, item) in items.enumerated() {
            guard case .object = item else {
                throw .validation("The Message object at messages.\(index) must be an object.")
            }
            guard let roleText = item["role"]?.stringValue else {
                throw .constraint("messages.\(index + 1).member.role", value: "null", "Member must not be null")
            }
            guard roleText == "system" || ConversationRole(rawValue: roleText) != nil else {
                throw .constraint(
                    "messages.\(index + 1).member.role", value: RequestLog.cut(roleText),
                    "Member must satisfy enum value set: [user, assistant, system]")
            }
            guard let content = item["content"]?.arrayValue else {
                throw .constraint("messages.\(index + 1).member.content", value: "null", "Member must not be null")
            }
            if content.isEmpty {
                throw .validation(
                    "The content field in the Message object at messages.\(index) is empty. Add a ContentBlock object to the content field and try again."
                )
            }
            guard let role = ConversationRole(rawValue: roleText) else {
                try readSystemMessage(content, path: "messages.\(index).content", into: &inline)
                continue
            }
            var blocks: [InputBlock] = []
            for (blockIndex, block) in content.enumerated() {
                blocks.append(try readBlock(block, path: "messages.\(index).content.\(blockIndex)"))
            }
            messages.append(ConversationMessage(role: role, blocks: blocks))
        }
        guard let first = messages.first, first.role == .user else {
            throw .validation(
                "A conversation must start with a user message. Try again with a conversation that starts with a user message."
            )
        }
        for (previous, next) in zip(messages, messages.dropFirst()) where previous.role == next.role {
            throw .validation(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
            )
        }
        return (messages, inline)
    }

    /// A `system`-role message: text, `toolAddition` / `toolRemoval` (`{tool: {name, type,
    /// serverName}}`) and cache points only.
    private func readSystemMessage(_ content: [JSONValue], path: String, into inline: inout InlineSystem)
        throws(ServiceError)
    {
        for (index, block) in content.enumerated() {
            guard let members = block.objectValue, members.count == 1, let (kind, value) = members.first else {
                throw .validation(
                    "The ContentBlock object at \(path).\(index) must set exactly one of its members. Set one member and try again."
                )
            }
            switch kind {
            case "text":
                guard let text = value.stringValue else {
                    throw .validation("The text field in the ContentBlock object at \(path).\(index) must be a string.")
                }
                inline.system.append(text)
            case "toolAddition", "toolRemoval":
                guard let name = value["tool"]?["name"]?.stringValue, !name.isEmpty else {
                    throw .validation(
                        "1 validation error detected: Value null at '\(path).\(index).\(kind).tool.name' failed to satisfy constraint: Member must not be null"
                    )
                }
                inline.toolChanges.append((kind == "toolAddition", name))
            case "cachePoint":
                try checkCachePoint(value, path: "\(path).\(index)")
            default:
                throw .validation(
                    "The ContentBlock object at \(path).\(index) has a \(kind) member, which a system message cannot carry: use text, toolAddition, toolRemoval or cachePoint."
                )
            }
        }
    }

    /// `cachePoint` = `{type: "default", ttl: "5m" | "1h"}`.
    private func checkCachePoint(_ value: JSONValue, path: String) throws(ServiceError) {
        if let ttl = value["ttl"], ttl != .null {
            guard let text = ttl.stringValue, ["5m", "1h"].contains(text) else {
                throw .constraint(
                    "\(path).cachePoint.ttl", value: RequestLog.cut(ttl.text),
                    "Member must satisfy enum value set: [5m, 1h]")
            }
        }
    }

    /// One citation per `searchResult` block with `citations.enabled`, in order, pointing
    /// at its first passage (`searchResultLocation`: the block's index among search
    /// results, passages 0 to 0).
    static func searchResultCitations(_ messages: JSONValue?) -> [JSONValue] {
        var citations: [JSONValue] = []
        var index = 0
        for message in messages?.arrayValue ?? [] where message["role"]?.stringValue == "user" {
            for block in message["content"]?.arrayValue ?? [] {
                guard let result = block["searchResult"] else { continue }
                defer { index += 1 }
                guard result["citations"]?["enabled"]?.boolValue == true, citations.count < 32 else { continue }
                citations.append([
                    "title": result["title"] ?? "", "source": result["source"] ?? "",
                    "sourceContent": [["text": result["content"]?.arrayValue?.first?["text"] ?? ""]],
                    "location": ["searchResultLocation": ["searchResultIndex": .int(index), "start": 0, "end": 0]],
                ])
            }
        }
        return citations
    }

    /// A `searchResult` block (`{source, title, content: [{text}], citations}`) as the
    /// text the model reads.
    private func searchResultText(_ value: JSONValue, path: String) throws(ServiceError) -> String {
        guard let source = value["source"]?.stringValue, let title = value["title"]?.stringValue,
            let content = value["content"]?.arrayValue
        else {
            throw .validation("The searchResult block at \(path) needs source, title and content.")
        }
        var texts: [String] = []
        for (index, part) in content.enumerated() {
            guard let text = part["text"]?.stringValue else {
                throw .validation(
                    "1 validation error detected: Value null at '\(path).searchResult.content.\(index).text' failed to satisfy constraint: Member must not be null"
                )
            }
            texts.append(text)
        }
        return "\(title) (\(source)): \(texts.joined(separator: " "))"
    }

    private func readBlock(_ block: JSONValue, path: String) throws(ServiceError) -> InputBlock {
        guard let members = block.objectValue, members.count == 1, let (kind, value) = members.first else {
            throw .validation(
                "The ContentBlock object at \(path) must set exactly one of its members. Set one member and try again.")
        }
        switch kind {
        case "text":
            guard let text = value.stringValue else {
                throw .validation("The text field in the ContentBlock object at \(path) must be a string.")
            }
            if text.allSatisfy(\.isWhitespace) {
                throw .validation(
                    "The text field in the ContentBlock object at \(path) is blank. Add text to the text field, and try again."
                )
            }
            return .text(text)
        case "image", "document", "video", "audio":
            guard case .object = value else {
                throw .validation("The \(kind) field in the ContentBlock object at \(path) must be an object.")
            }
            guard model.accepts(kind) else {
                throw .validation(
                    "This model doesn't support the \(kind) content block that you provided. "
                        + "Try again with a model that supports \(kind) content blocks.")
            }
            return .media(kind: kind)
        case "toolUse":
            guard let id = value["toolUseId"]?.stringValue, let name = value["name"]?.stringValue,
                let input = value["input"]
            else {
                throw .validation("The toolUse block at \(path) needs toolUseId, name and input.")
            }
            return .toolUse(id: id, name: name, input: input)
        case "toolResult":
            guard let id = value["toolUseId"]?.stringValue, let content = value["content"]?.arrayValue else {
                throw .validation("The toolResult block at \(path) needs toolUseId and content.")
            }
            var texts: [String] = []
            for (partIndex, part) in content.enumerated() {
                if let text = part["text"]?.stringValue {
                    texts.append(text)
                } else if let json = part["json"] {
                    texts.append(json.text)
                } else if let result = part["searchResult"] {
                    texts.append(try searchResultText(result, path: "\(path).toolResult.content.\(partIndex)"))
                }
            }
            return .toolResult(
                id: id, text: texts.joined(separator: " "), isError: value["status"]?.stringValue == "error")
        case "reasoningContent":
            return .reasoning(value["reasoningText"]?["text"]?.stringValue ?? "")
        case "guardContent":
            return .text(value["text"]?["text"]?.stringValue ?? "")
        case "cachePoint":
            try checkCachePoint(value, path: path)
            return .text("")
        case "searchResult":
            return .text(try searchResultText(value, path: path))
        case "toolAddition", "toolRemoval":
            throw .validation("The \(kind) block at \(path) belongs in a message with the system role.")
        default:
            throw .validation("The ContentBlock object at \(path) has an unknown member \(kind).")
        }
    }

    private func readSystem(_ value: JSONValue?) throws(ServiceError) -> [String] {
        guard let value, value != .null else { return [] }
        guard let items = value.arrayValue else {
            throw .validation("The system field must be a list of SystemContentBlock objects.")
        }
        if !items.isEmpty && !model.supportsSystemPrompt {
            throw .validation(
                "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."
            )
        }
        for (index, item) in items.enumerated() {
            if let point = item["cachePoint"] { try checkCachePoint(point, path: "system.\(index)") }
        }
        return items.compactMap { $0["text"]?.stringValue }
    }

    private func readToolConfig(_ value: JSONValue?, into request: inout GenerationRequest) throws(ServiceError) {
        guard let value, value != .null else { return }
        guard model.supportsToolUse else {
            throw .validation("This model doesn't support tool use.")
        }
        guard let tools = value["tools"]?.arrayValue, !tools.isEmpty else {
            throw .constraint("toolConfig.tools", value: "[]", "Member must have length greater than or equal to 1")
        }
        for (index, tool) in tools.enumerated() {
            if let point = tool["cachePoint"] {
                try checkCachePoint(point, path: "toolConfig.tools.\(index)")
                continue
            }
            if let system = tool["systemTool"] {
                guard let name = system["name"]?.stringValue, !name.isEmpty else {
                    throw .validation(
                        "1 validation error detected: Value null at 'toolConfig.tools.\(index).systemTool.name' failed to satisfy constraint: Member must not be null"
                    )
                }
                request.systemTools.append(name)
                continue
            }
            guard let spec = tool["toolSpec"], let name = spec["name"]?.stringValue else {
                throw .validation("The toolSpec at toolConfig.tools.\(index) needs a name.")
            }
            guard let schema = spec["inputSchema"]?["json"], case .object = schema else {
                throw .validation(
                    "The tool \(name) at toolConfig.tools.\(index) needs inputSchema.json, a JSON schema object.")
            }
            if request.tools.contains(where: { $0.name == name }) {
                throw .validation("The toolConfig field contains duplicate tool names: \(name).")
            }
            request.tools.append(
                ToolDefinition(name: name, description: spec["description"]?.stringValue, schema: schema))
        }
        if let choice = value["toolChoice"], choice != .null {
            if choice["auto"] != nil {
                request.toolSelection = .auto
            } else if choice["any"] != nil {
                request.toolSelection = .any
            } else if let name = choice["tool"]?["name"]?.stringValue {
                guard request.tools.contains(where: { $0.name == name }) else {
                    throw .validation("The tool \(name) specified in toolChoice is not defined in toolConfig.tools.")
                }
                request.toolSelection = .named(name)
            } else {
                throw .validation("The toolChoice field must set one of auto, any or tool.")
            }
        }
    }

    private func readInferenceConfig(_ value: JSONValue?, into request: inout GenerationRequest) throws(ServiceError) {
        guard let value, value != .null else { return }
        if let raw = value["maxTokens"] {
            guard let maxTokens = raw.intValue else { throw .validation("The maxTokens field must be an integer.") }
            if maxTokens < 1 {
                throw .constraint(
                    "inferenceConfig.maxTokens", value: String(maxTokens),
                    "Member must have value greater than or equal to 1")
            }
            if maxTokens > model.maxOutputTokens {
                throw .validation(
                    "The maximum tokens you requested exceeds the model limit of \(model.maxOutputTokens). Try again with a maximum tokens value that is lower than \(model.maxOutputTokens)."
                )
            }
            request.maxTokens = maxTokens
        }
        if let raw = value["temperature"] {
            guard let temperature = raw.doubleValue else {
                throw .validation("The temperature field must be a number.")
            }
            if temperature < 0 || temperature > 1 {
                throw .constraint(
                    "inferenceConfig.temperature", value: Self.format(temperature),
                    temperature < 0
                        ? "Member must have value greater than or equal to 0"
                        : "Member must have value less than or equal to 1")
            }
            request.temperature = temperature
        }
        if let raw = value["topP"] {
            guard let topP = raw.doubleValue, topP >= 0, topP <= 1 else {
                throw .constraint("inferenceConfig.topP", value: raw.text, "Member must have value between 0 and 1")
            }
            request.topP = topP
        }
        if let raw = value["stopSequences"] {
            guard let items = raw.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw .validation("The stopSequences field must be a list of strings.")
            }
            if items.count > 4 && model.family == .anthropicClaude {
                throw .constraint(
                    "inferenceConfig.stopSequences", value: raw.text, "Member must have length less than or equal to 4")
            }
            request.stopSequences = items.compactMap(\.stringValue)
        }
    }

    private func readAdditionalFields(_ value: JSONValue?, into request: inout GenerationRequest) throws(ServiceError) {
        guard let value, value != .null else { return }
        if let seed = value["seed"]?.intValue { request.seed = UInt64(truncatingIfNeeded: seed) }
        if let thinking = value["thinking"] ?? value["reasoning_config"] {
            guard model.supportsReasoning else {
                throw .validation("The model returned the following errors: thinking: Extra inputs are not permitted")
            }
            if thinking["type"]?.stringValue == "enabled" {
                let budget = thinking["budget_tokens"]?.intValue ?? 1024
                if budget < 1024 {
                    throw .validation(
                        "The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                    )
                }
                request.reasoningBudget = budget
            }
        }
    }

    /// Every toolResult must answer a toolUse of the previous assistant turn.
    private func checkToolTurns(_ messages: [ConversationMessage]) throws(ServiceError) {
        for (index, message) in messages.enumerated() where message.role == .user {
            var resultIDs: [String] = []
            for case .toolResult(let id, _, _) in message.blocks { resultIDs.append(id) }
            guard !resultIDs.isEmpty else { continue }
            var useIDs = Set<String>()
            if index > 0 {
                for case .toolUse(let id, _, _) in messages[index - 1].blocks { useIDs.insert(id) }
            }
            if resultIDs.count > useIDs.count {
                throw .validation(
                    "The number of toolResult blocks at messages.\(index).content exceeds the number of toolUse blocks of previous turn."
                )
            }
            for id in resultIDs where !useIDs.contains(id) {
                throw .validation(
                    "The toolUseId \(id) in the toolResult block at messages.\(index) does not match a toolUse block of the previous turn."
                )
            }
        }
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number ? String(Int(number)) : String(number)
    }
}
