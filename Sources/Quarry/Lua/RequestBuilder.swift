import Foundation

/// Turns the tables scripts pass to `bedrock.*` into Bedrock requests.
///
/// Scripts write snake_case with shorthands (`messages = "hi"`, `content = "text"`,
/// `inference = {max_tokens = 200}`, `tools = {{name=…, schema=…}}`); content blocks may
/// also be written in the service's own camelCase shape (`{toolUse = {…}}`), which passes
/// through unchanged. Unknown fields are errors that list the known ones.
struct RequestBuilder {
    /// The function name for error messages (`bedrock.converse`).
    let function: String
    /// The model to use when the request has none (REPL `:use`).
    let defaultModel: String?

    static let converseFields: Set<String> = [
        "model", "messages", "system", "inference", "tools", "tool_choice", "guardrail", "fields",
        "prompt_variables", "response_field_paths", "metadata", "performance", "service_tier",
        "on_text", "on_event", "timeout", "stream_retry", "first_byte_timeout", "idle_timeout", "output", "cache",
    ]

    func fail(_ message: String) -> ScriptError {
        ScriptError(code: .validationError, message: "\(function): \(message)")
    }

    func table(_ value: LuaValue) throws(ScriptError) -> [String: LuaValue] {
        switch value {
        case .map(let m): return m
        case .nil: throw fail("expected a table of arguments, e.g. \(function){model=…, messages=…}")
        default: throw fail("expected a table of arguments, got \(Self.typeName(value))")
        }
    }

    func model(_ args: [String: LuaValue]) throws(ScriptError) -> String {
        switch args["model"] {
        case .string(let s)?: return s
        case nil, .nil?:
            if let defaultModel { return defaultModel }
            throw fail("'model' is required (a model id such as \"anthropic.claude-3-haiku-20240307-v1:0\")")
        case let other?: throw fail("'model' must be a string, got \(Self.typeName(other))")
        }
    }

    /// A Converse request checked against the typed request and encoded once (the host
    /// measures, audits and sends that one encoding), and the `maxTokens` it asks for.
    func encodedConverse(_ args: [String: LuaValue]) throws(ScriptError) -> (
        request: EncodedConverseRequest, maxTokens: Int?
    ) {
        let (request, maxTokens) = try converse(args)
        do {
            return (try EncodedConverseRequest(request), maxTokens)
        } catch {
            throw fail(String(describing: error))
        }
    }

    /// The JSON body of a Converse request, and the `maxTokens` it asks for.
    func converse(_ args: [String: LuaValue]) throws(ScriptError) -> (request: ConverseRequest, maxTokens: Int?) {
        for key in args.keys where !Self.converseFields.contains(key) {
            throw fail("unknown field '\(key)' (known: \(Self.converseFields.sorted().joined(separator: ", ")))")
        }
        let modelId = try model(args)
        var body: [(String, JSONValue)] = [("modelId", .string(modelId))]
        body.append(("messages", try messages(args["messages"] ?? .nil)))
        if let system = args["system"], system != .nil { body.append(("system", try systemBlocks(system))) }
        var maxTokens: Int?
        if let inference = args["inference"], inference != .nil {
            let config = try inferenceConfig(inference)
            maxTokens = config["maxTokens"]?.intValue
            body.append(("inferenceConfig", config))
        }
        if let tools = args["tools"], tools != .nil {
            var toolConfig: [(String, JSONValue)] = [("tools", try toolList(tools))]
            if let choice = args["tool_choice"], choice != .nil {
                toolConfig.append(("toolChoice", try toolChoice(choice)))
            }
            body.append(("toolConfig", .object(toolConfig)))
        } else if args["tool_choice"] != nil {
            throw fail("'tool_choice' needs 'tools'")
        }
        if let guardrail = args["guardrail"], guardrail != .nil {
            body.append(("guardrailConfig", try guardrailConfig(guardrail)))
        }
        if let fields = args["fields"], fields != .nil {
            body.append(("additionalModelRequestFields", try LuaJSON.json(from: fields, path: "\(function): fields")))
        }
        if let vars = args["prompt_variables"], case .map(let m) = vars {
            body.append(
                (
                    "promptVariables",
                    .object(
                        try m.keys.sorted().map { k throws(ScriptError) in
                            guard let v = m[k]?.stringValue else {
                                throw fail("prompt_variables.\(k) must be a string")
                            }
                            return (k, .object([("text", .string(v))]))
                        })
                ))
        }
        if let paths = args["response_field_paths"], paths != .nil {
            body.append(
                ("additionalModelResponseFieldPaths", try LuaJSON.json(from: paths, path: "response_field_paths")))
        }
        if let meta = args["metadata"], meta != .nil {
            body.append(("requestMetadata", try LuaJSON.json(from: meta, path: "metadata")))
        }
        if let latency = args["performance"]?.stringValue {
            body.append(("performanceConfig", .object([("latency", .string(latency))])))
        }
        if let tier = args["service_tier"]?.stringValue {
            body.append(("serviceTier", .object([("type", .string(tier))])))
        }
        if let output = args["output"], output != .nil { body.append(("outputConfig", try outputConfig(output))) }
        switch args["cache"] {
        case nil, .nil?, .boolean(false)?: break
        case .boolean(true)?: body = Self.withCachePoints(body)
        case .string(let ttl)? where ttl == "5m" || ttl == "1h": body = Self.withCachePoints(body, ttl: ttl)
        default: throw fail("'cache' must be true, false, \"5m\" or \"1h\" (the cache's time to live)")
        }
        do {
            return (try JSONValueDecoder().decode(ConverseRequest.self, from: .object(body)), maxTokens)
        } catch {
            throw fail(Self.describe(error))
        }
    }

    func messages(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        switch value {
        case .string(let text):
            return .array([.object([("role", "user"), ("content", .array([.object([("text", .string(text))])]))])])
        case .array(let items):
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() { out.append(try message(item, path: "messages[\(i + 1)]")) }
            return .array(out)
        case .map(let m) where m.isEmpty:
            throw fail("'messages' is empty; give a string or a list of {role=…, content=…}")
        case .map(let m) where m["role"] != nil || m["content"] != nil:
            return .array([try message(value, path: "messages")])
        case .nil:
            throw fail("'messages' is required: a string (one user turn) or a list of {role=…, content=…}")
        default:
            throw fail("'messages' must be a string or a list of {role=…, content=…}, got \(Self.typeName(value))")
        }
    }

    func message(_ value: LuaValue, path: String) throws(ScriptError) -> JSONValue {
        if case .string(let text) = value {
            return .object([("role", "user"), ("content", .array([.object([("text", .string(text))])]))])
        }
        guard case .map(let m) = value else { throw fail("\(path) must be a table {role=…, content=…}") }
        let role = m["role"]?.stringValue ?? "user"
        guard role == "user" || role == "assistant" else {
            throw fail("\(path).role must be \"user\" or \"assistant\", got \"\(role)\"")
        }
        guard let content = m["content"], content != .nil else { throw fail("\(path).content is required") }
        return .object([("role", .string(role)), ("content", try contentBlocks(content, path: "\(path).content"))])
    }

    func contentBlocks(_ value: LuaValue, path: String) throws(ScriptError) -> JSONValue {
        switch value {
        case .string(let text): return .array([.object([("text", .string(text))])])
        case .array(let items):
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() { out.append(try contentBlock(item, path: "\(path)[\(i + 1)]")) }
            return .array(out)
        case .map(let m) where !m.isEmpty: return .array([try contentBlock(value, path: path)])
        default: throw fail("\(path) must be a string or a list of content blocks")
        }
    }

    func contentBlock(_ value: LuaValue, path: String) throws(ScriptError) -> JSONValue {
        if case .string(let text) = value { return .object([("text", .string(text))]) }
        guard case .map(let m) = value else { throw fail("\(path) must be a string or a table") }
        guard let type = m["type"]?.stringValue else {
            if m.count == 1, let (kind, fields) = m.first, Self.mediaKinds.contains(kind) {
                guard case .map(let f) = fields else {
                    throw fail("\(path).\(kind) must be a table {format=…, source=…}")
                }
                return try mediaBlock(kind: kind, fields: f, path: "\(path).\(kind)")
            }
            return try LuaJSON.json(from: value, path: "\(function): \(path)")
        }
        if Self.mediaKinds.contains(type) {
            var fields = m
            fields["type"] = nil
            return try mediaBlock(kind: type, fields: fields, path: path)
        }
        switch type {
        case "text":
            guard let text = m["text"]?.stringValue else { throw fail("\(path).text must be a string") }
            return .object([("text", .string(text))])
        case "tool_use":
            guard let id = m["id"]?.stringValue, let name = m["name"]?.stringValue else {
                throw fail("\(path): a tool_use block needs id and name")
            }
            let input = try LuaJSON.json(from: m["input"] ?? .map([:]), path: "\(function): \(path).input")
            return .object([
                ("toolUse", .object([("toolUseId", .string(id)), ("name", .string(name)), ("input", input)]))
            ])
        case "tool_result":
            guard let id = m["id"]?.stringValue ?? m["tool_use_id"]?.stringValue else {
                throw fail("\(path): a tool_result block needs id (the tool_use id)")
            }
            var result: [(String, JSONValue)] = [
                ("toolUseId", .string(id)),
                ("content", try toolResultContent(m["content"] ?? .nil, path: "\(path).content")),
            ]
            if let status = m["status"]?.stringValue { result.append(("status", .string(status))) }
            return .object([("toolResult", .object(result))])
        case "reasoning":
            var text: [(String, JSONValue)] = [("text", .string(m["text"]?.stringValue ?? ""))]
            if let signature = m["signature"]?.stringValue { text.append(("signature", .string(signature))) }
            return .object([("reasoningContent", .object([("reasoningText", .object(text))]))])
        default:
            var rest = m
            rest["type"] = nil
            return .object([(Self.camelCase(type), try LuaJSON.json(from: .map(rest), path: "\(function): \(path)"))])
        }
    }

    func toolResultContent(_ value: LuaValue, path: String) throws(ScriptError) -> JSONValue {
        switch value {
        case .string(let text): return .array([.object([("text", .string(text))])])
        case .nil: return .array([.object([("text", "")])])
        case .array(let items):
            return .array(
                try items.enumerated().map { i, item throws(ScriptError) in
                    if case .string(let t) = item { return .object([("text", .string(t))]) }
                    if case .map(let m) = item, m["type"]?.stringValue == "text", let t = m["text"]?.stringValue {
                        return .object([("text", .string(t))])
                    }
                    return .object([("json", try LuaJSON.json(from: item, path: "\(function): \(path)[\(i + 1)]"))])
                })
        default:
            return .array([.object([("json", try LuaJSON.json(from: value, path: "\(function): \(path)"))])])
        }
    }

    func systemBlocks(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        switch value {
        case .string(let text): return .array([.object([("text", .string(text))])])
        case .array(let items):
            return .array(
                try items.map { item throws(ScriptError) in
                    if case .string(let t) = item { return .object([("text", .string(t))]) }
                    return try LuaJSON.json(from: item, path: "\(function): system")
                })
        default: throw fail("'system' must be a string or a list of strings")
        }
    }

    func inferenceConfig(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        guard case .map(let m) = value else {
            throw fail("'inference' must be a table, e.g. {max_tokens=200, temperature=0.5}")
        }
        var out: [(String, JSONValue)] = []
        for key in m.keys.sorted() {
            guard let v = m[key] else { continue }
            switch key {
            case "max_tokens", "maxTokens":
                let n = try ScriptNumber.count(
                    v, function: function, field: "inference.\(key)", in: 1...Int64(Int32.max))
                out.append(("maxTokens", .integer(Int64(n))))
            case "temperature", "top_p", "topP":
                let d = try ScriptNumber.number(v, function: function, field: "inference.\(key)", in: -1e6...1e6)
                out.append((key == "temperature" ? "temperature" : "topP", .double(d)))
            case "stop", "stop_sequences", "stopSequences":
                let list: [LuaValue]
                switch v {
                case .string: list = [v]
                case .array(let items): list = items
                default: throw fail("inference.\(key) must be a string or a list of strings")
                }
                out.append(
                    (
                        "stopSequences",
                        .array(
                            try list.map { item throws(ScriptError) in
                                guard let s = item.stringValue else { throw fail("inference.\(key) must hold strings") }
                                return .string(s)
                            })
                    ))
            default:
                throw fail("unknown inference setting '\(key)' (known: max_tokens, temperature, top_p, stop_sequences)")
            }
        }
        return .object(out)
    }

    func toolList(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        var specs: [JSONValue] = []
        switch value {
        case .array(let items):
            for (i, item) in items.enumerated() {
                guard case .map(let m) = item else {
                    throw fail("tools[\(i + 1)] must be a table {name=…, description=…, schema=…}")
                }
                if m["toolSpec"] != nil || m["cachePoint"] != nil {
                    specs.append(try LuaJSON.json(from: item, path: "\(function): tools[\(i + 1)]"))
                    continue
                }
                guard let name = m["name"]?.stringValue else { throw fail("tools[\(i + 1)].name is required") }
                specs.append(try toolSpec(name: name, m, path: "tools[\(i + 1)]"))
            }
        case .map(let m):
            for name in m.keys.sorted() {
                var spec: [String: LuaValue] = [:]
                if case .map(let s)? = m[name] { spec = s }
                specs.append(try toolSpec(name: name, spec, path: "tools.\(name)"))
            }
        default:
            throw fail("'tools' must be a list of {name=…, description=…, schema=…}")
        }
        return .array(specs)
    }

    func toolSpec(name: String, _ m: [String: LuaValue], path: String) throws(ScriptError) -> JSONValue {
        let schemaValue = m["schema"] ?? m["input_schema"] ?? m["inputSchema"]
        let schema: JSONValue
        if let schemaValue, schemaValue != .nil {
            schema = try LuaJSON.json(from: schemaValue, path: "\(function): \(path).schema")
        } else {
            schema = .object([("type", "object"), ("properties", .object([]))])
        }
        var spec: [(String, JSONValue)] = [("name", .string(name))]
        if let d = m["description"]?.stringValue { spec.append(("description", .string(d))) }
        spec.append(("inputSchema", .object([("json", schema)])))
        return .object([("toolSpec", .object(spec))])
    }

    func toolChoice(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        switch value {
        case .string("auto"): return .object([("auto", .object([]))])
        case .string("any"): return .object([("any", .object([]))])
        case .string(let name): return .object([("tool", .object([("name", .string(name))]))])
        case .map(let m):
            if let name = m["tool"]?.stringValue ?? m["name"]?.stringValue {
                return .object([("tool", .object([("name", .string(name))]))])
            }
            return try LuaJSON.json(from: value, path: "\(function): tool_choice")
        default:
            throw fail("'tool_choice' must be \"auto\", \"any\" or a tool name")
        }
    }

    /// `cache = true`: a `cachePoint` after the tools and after the system prompt, or —
    /// with neither — after the last message's content, so a repeat reads the cache.
    /// `cache = "1h"` (or `"5m"`) also sets the cache point's time to live.
    static func withCachePoints(_ body: [(String, JSONValue)], ttl: String? = nil) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("type", "default")]
        if let ttl { fields.append(("ttl", .string(ttl))) }
        let point: JSONValue = .object([("cachePoint", .object(fields))])
        var out = body
        var placed = false
        for (index, (key, value)) in out.enumerated() {
            if key == "system", case .array(let items) = value {
                out[index].1 = .array(items + [point]); placed = true
            } else if key == "toolConfig", case .object(var members) = value,
                let at = members.firstIndex(where: { $0.0 == "tools" }), case .array(let tools) = members[at].1
            {
                members[at].1 = .array(tools + [point]); out[index].1 = .object(members); placed = true
            }
        }
        if !placed, let at = out.firstIndex(where: { $0.0 == "messages" }), case .array(var messages) = out[at].1,
            let last = messages.indices.last, case .object(var message) = messages[last],
            let contentAt = message.firstIndex(where: { $0.0 == "content" }),
            case .array(let content) = message[contentAt].1
        {
            message[contentAt].1 = .array(content + [point])
            messages[last] = .object(message)
            out[at].1 = .array(messages)
        }
        return out
    }

    /// `output = {schema = {…}, name = …, description = …, effort = …}`: the schema
    /// (structured output) becomes the JSON text `outputConfig.textFormat` carries;
    /// `effort` (`low`, `medium`, `high`, `xhigh`, `max`) is `outputConfig.effort`.
    func outputConfig(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        guard case .map(let m) = value else { throw fail("'output' must be {schema = {…}} or {effort = …}") }
        for key in m.keys where !["schema", "name", "description", "effort"].contains(key) {
            throw fail("unknown output setting '\(key)' (known: description, effort, name, schema)")
        }
        var config: [(String, JSONValue)] = []
        if let schemaValue = m["schema"], schemaValue != .nil {
            guard case .map = schemaValue else { throw fail("'output.schema' must be a JSON schema table") }
            let schema = try LuaJSON.json(from: schemaValue, path: "\(function): output.schema")
            var definition: [(String, JSONValue)] = [("schema", .string(JSONWriter.compact.string(schema)))]
            if let name = m["name"]?.stringValue { definition.append(("name", .string(name))) }
            if let description = m["description"]?.stringValue {
                definition.append(("description", .string(description)))
            }
            config.append(
                (
                    "textFormat",
                    .object([
                        ("type", "JSON_SCHEMA"),
                        ("structure", .object([("jsonSchema", .object(definition))])),
                    ])
                ))
        } else if m["name"] != nil || m["description"] != nil {
            throw fail("'output.name' and 'output.description' need 'output.schema'")
        }
        if let effort = m["effort"], effort != .nil {
            guard let level = effort.stringValue, Self.effortLevels.contains(level) else {
                throw fail("'output.effort' must be one of \(Self.effortLevels.joined(separator: ", "))")
            }
            config.append(("effort", .string(level)))
        }
        guard !config.isEmpty else { throw fail("'output' must set schema or effort") }
        return .object(config)
    }

    /// The effort levels `output.effort` takes (the API model's list).
    static let effortLevels = ["low", "medium", "high", "xhigh", "max"]

    func guardrailConfig(_ value: LuaValue) throws(ScriptError) -> JSONValue {
        guard case .map(let m) = value, let id = (m["id"] ?? m["identifier"])?.stringValue else {
            throw fail("'guardrail' must be {id=…, version=…}")
        }
        var out: [(String, JSONValue)] = [
            ("guardrailIdentifier", .string(id)),
            ("guardrailVersion", .string(m["version"]?.stringValue ?? "DRAFT")),
        ]
        if let trace = m["trace"] {
            out.append(("trace", .string(trace == .boolean(true) ? "enabled" : (trace.stringValue ?? "disabled"))))
        }
        return .object(out)
    }

    /// The body of an InvokeModel request: a table is JSON-encoded, a string sent as is.
    func invokeBody(_ args: [String: LuaValue]) throws(ScriptError) -> Data {
        switch args["body"] {
        case .string(let s)?: return Data(s.utf8)
        case .bytes(let b)?: return Data(b)
        case nil, .nil?: throw fail("'body' is required: a table (sent as JSON) or a string")
        case let value?: return Data(JSONWriter.compact.bytes(try LuaJSON.json(from: value, path: "\(function): body")))
        }
    }

    static func integer(_ v: LuaValue) -> Int? {
        switch v {
        case .integer(let i): return Int(exactly: i)
        case .number(let d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    static func number(_ v: LuaValue) -> Double? {
        switch v {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    static func camelCase(_ snake: String) -> String {
        var out = ""
        var upper = false
        for c in snake {
            if c == "_" { upper = true; continue }
            out.append(upper ? Character(c.uppercased()) : c)
            upper = false
        }
        return out
    }

    static func snakeCase(_ camel: String) -> String {
        var out = ""
        for c in camel {
            if c.isUppercase {
                if !out.isEmpty { out.append("_") }; out.append(Character(c.lowercased()))
            } else {
                out.append(c)
            }
        }
        return out
    }

    static func typeName(_ v: LuaValue) -> String {
        switch v {
        case .nil: "nil"
        case .null: "null"
        case .boolean: "a boolean"
        case .integer, .number: "a number"
        case .string, .bytes: "a string"
        case .array, .map, .tagged, .encodedList: "a table"
        case .function: "a function"
        case .handle(let h): "a \(h.typeName)"
        }
    }
}
