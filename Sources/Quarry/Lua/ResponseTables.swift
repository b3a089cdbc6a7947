import Foundation

/// Turns Bedrock responses and stream events into the tables scripts receive.
///
/// A Converse result is `{text=…, content={…}, tool_uses={…}, stop_reason=…, usage={…},
/// latency_ms=…, attempts=N, attempt_log={…}, request_id=…, model=…, message={…}}`;
/// `message` is the assistant turn ready to append to a conversation.
enum ResponseTables {
    static func usage(_ u: TokenUsage) -> LuaValue {
        var m: [String: LuaValue] = [
            "input_tokens": .integer(Int64(u.inputTokens)),
            "output_tokens": .integer(Int64(u.outputTokens)),
            "total_tokens": .integer(Int64(u.totalTokens)),
        ]
        if let r = u.cacheReadInputTokens { m["cache_read_input_tokens"] = .integer(Int64(r)) }
        if let w = u.cacheWriteInputTokens { m["cache_write_input_tokens"] = .integer(Int64(w)) }
        if let details = u.cacheDetails {
            m["cache_details"] = list(
                details.map { .map(["ttl": .string($0.ttl), "input_tokens": .integer(Int64($0.inputTokens))]) })
        }
        return .map(m)
    }

    static func block(_ block: ContentBlock) -> LuaValue {
        switch block {
        case .text(let t): return .map(["type": "text", "text": .string(t)])
        case .toolUse(let u):
            return .map([
                "type": "tool_use", "id": .string(u.toolUseId), "name": .string(u.name),
                "input": LuaJSON.lua(from: u.input),
            ])
        case .reasoningContent(.reasoningText(let r)):
            var m: [String: LuaValue] = ["type": "reasoning", "text": .string(r.text)]
            if let s = r.signature { m["signature"] = .string(s) }
            return .map(m)
        case .reasoningContent(.redactedContent(let data)):
            return .map(["type": "reasoning", "redacted": .bytes(Array(data))])
        default:
            // Other blocks keep the service's JSON, tagged with their snake_case type.
            guard let json = try? JSONValueEncoder().encode(block), case .object(let members) = json,
                let (name, value) = members.first
            else { return .map(["type": "unknown"]) }
            var m: [String: LuaValue] = [:]
            if case .map(let inner) = LuaJSON.lua(from: value) {
                m = inner
            } else {
                m["value"] = LuaJSON.lua(from: value)
            }
            m["type"] = .string(RequestBuilder.snakeCase(name))
            return .map(m)
        }
    }

    static func toolUses(_ content: [ContentBlock]) -> LuaValue {
        let uses: [LuaValue] = content.compactMap(\.toolUse).map {
            .map(["id": .string($0.toolUseId), "name": .string($0.name), "input": LuaJSON.lua(from: $0.input)])
        }
        return uses.isEmpty ? .map([:]) : .array(uses)
    }

    static func list(_ items: [LuaValue]) -> LuaValue { items.isEmpty ? .map([:]) : .array(items) }

    /// The table `bedrock.converse` returns.
    static func converse(_ result: BedrockResult<ConverseResponse>, model: String, elapsed: Duration) -> LuaValue {
        let response = result.output
        var content: [ContentBlock] = []
        if case .message(let m) = response.output { content = m.content }
        let blocks = content.map(block)
        var m: [String: LuaValue] = [
            "text": .string(content.compactMap(\.text).joined()),
            "content": list(blocks),
            "tool_uses": toolUses(content),
            "stop_reason": .string(response.stopReason.rawValue),
            "usage": usage(response.usage),
            "latency_ms": .number(response.metrics.map { Double($0.latencyMs) } ?? elapsed.milliseconds),
            "elapsed_ms": .number(elapsed.milliseconds),
            "attempts": .integer(Int64(result.attempts.count)),
            "attempt_log": AttemptLog.lua(result.attempts),
            "model": .string(model),
            "message": .map(["role": "assistant", "content": list(blocks)]),
        ]
        if let id = result.requestId { m["request_id"] = .string(id) }
        if let fields = response.additionalModelResponseFields { m["fields"] = LuaJSON.lua(from: fields) }
        if let trace = response.trace { m["trace"] = LuaJSON.lua(from: trace) }
        return .map(m)
    }

    /// A result of a structured-output request with `json`: its text decoded (absent
    /// when the text is not JSON, e.g. cut by `max_tokens`).
    static func withJSON(_ value: LuaValue) -> LuaValue {
        guard case .map(var m) = value, let text = m["text"]?.stringValue,
            let document = LuaJSON.parsedIfBounded(text.utf8)
        else { return value }
        m["json"] = document
        return .map(m)
    }

    /// The accumulated result of a ConverseStream (also the `partial` of a failed one).
    static func streamResult(
        _ r: ConverseStreamResult, attempts: [AttemptRecord], requestId: String?,
        model: String? = nil, elapsed: Duration? = nil
    ) -> LuaValue {
        let blocks = r.content.map(block)
        var m: [String: LuaValue] = [
            "text": .string(r.text),
            "content": list(blocks),
            "tool_uses": toolUses(r.content),
            "attempts": .integer(Int64(attempts.count)),
            "attempt_log": AttemptLog.lua(attempts),
            "restarts": .integer(Int64(r.restarts)),
            "complete": .boolean(r.isComplete),
            "message": .map(["role": "assistant", "content": list(blocks)]),
        ]
        if let stop = r.stopReason { m["stop_reason"] = .string(stop.rawValue) }
        if let u = r.usage { m["usage"] = usage(u) }
        if let latency = r.metrics?.latencyMs {
            m["latency_ms"] = .number(Double(latency))
        } else if let elapsed {
            m["latency_ms"] = .number(elapsed.milliseconds)
        }
        if let elapsed { m["elapsed_ms"] = .number(elapsed.milliseconds) }
        if let requestId { m["request_id"] = .string(requestId) }
        if let model { m["model"] = .string(model) }
        if let fields = r.additionalModelResponseFields { m["fields"] = LuaJSON.lua(from: fields) }
        return .map(m)
    }

    /// Encodes one ConverseStream event for a stream batch: text deltas, nearly every
    /// event of a long answer, are written field by field; the rest as `event(_:)` makes them.
    static func writeEvent(_ event: ConverseStreamEvent, into writer: inout LuaListWriter) throws(LuaConversionError) {
        if case .contentBlockDelta(let index, .text(let text)) = event {
            writer.appendRecord { record in
                record.field("type", "text")
                record.field("text", text)
                record.field("index", Int64(index))
            }
        } else {
            try writer.append(Self.event(event))
        }
    }

    /// One ConverseStream event as `{type=…, …}`.
    static func event(_ event: ConverseStreamEvent) -> LuaValue {
        switch event {
        case .messageStart(let role):
            return .map(["type": "message_start", "role": .string(role.rawValue)])
        case .contentBlockStart(let index, .toolUse(let id, let name)):
            return .map([
                "type": "tool_use_start", "index": .integer(Int64(index)), "id": .string(id), "name": .string(name),
            ])
        case .contentBlockStart(let index, .toolResult(let start)):
            var m: [String: LuaValue] = [
                "type": "tool_result_start", "index": .integer(Int64(index)), "id": .string(start.toolUseId),
            ]
            if let status = start.status { m["status"] = .string(status) }
            if let kind = start.type { m["result_type"] = .string(kind) }
            return .map(m)
        case .contentBlockStart(let index, .image(let format)):
            return .map(["type": "image_start", "index": .integer(Int64(index)), "format": .string(format)])
        case .contentBlockStart(let index, .unknown(let name, let payload)):
            return .map([
                "type": "block_start", "index": .integer(Int64(index)), "kind": .string(name),
                "payload": LuaJSON.lua(from: payload),
            ])
        case .contentBlockDelta(let index, let delta):
            let i = LuaValue.integer(Int64(index))
            switch delta {
            // Streams write text deltas field by field in `writeEvent`; this case keeps
            // `event` total and must give the same table.
            case .text(let t): return .map(["type": "text", "text": .string(t), "index": i])
            case .toolUse(let input): return .map(["type": "tool_input", "input": .string(input), "index": i])
            case .reasoningContent(.text(let t)): return .map(["type": "reasoning", "text": .string(t), "index": i])
            case .reasoningContent(.signature(let s)):
                return .map(["type": "reasoning", "signature": .string(s), "index": i])
            case .reasoningContent(.redactedContent(let d)):
                return .map(["type": "reasoning", "redacted": .bytes(Array(d)), "index": i])
            case .reasoningContent(.unknown(let name, let payload)):
                return .map([
                    "type": "unknown", "event": .string("reasoningContent." + name),
                    "payload": LuaJSON.lua(from: payload), "index": i,
                ])
            case .citation(let c): return .map(["type": "citation", "citation": LuaJSON.lua(from: c), "index": i])
            case .toolResult(let parts):
                return .map(["type": "tool_result", "parts": LuaJSON.lua(from: .array(parts)), "index": i])
            case .image(let piece): return .map(["type": "image", "image": LuaJSON.lua(from: piece), "index": i])
            case .unknown(let name, let payload):
                return .map([
                    "type": "unknown", "event": .string("contentBlockDelta." + name),
                    "payload": LuaJSON.lua(from: payload), "index": i,
                ])
            }
        case .contentBlockStop(let index):
            return .map(["type": "block_stop", "index": .integer(Int64(index))])
        case .messageStop(let reason, let fields):
            var m: [String: LuaValue] = ["type": "message_stop", "stop_reason": .string(reason.rawValue)]
            if let fields { m["fields"] = LuaJSON.lua(from: fields) }
            return .map(m)
        case .metadata(let meta):
            var m: [String: LuaValue] = ["type": "metadata"]
            if let u = meta.usage { m["usage"] = usage(u) }
            if let l = meta.metrics?.latencyMs { m["latency_ms"] = .integer(Int64(l)) }
            if let t = meta.trace { m["trace"] = LuaJSON.lua(from: t) }
            return .map(m)
        case .unknown(let type, let payload):
            return .map(["type": "unknown", "event": .string(type), "payload": LuaJSON.lua(from: payload)])
        case .restarted(let attempt, let reason):
            return .map(["type": "restart", "attempt": .integer(Int64(attempt)), "reason": .string(reason)])
        }
    }

    /// One InvokeModelWithResponseStream event: `{type="chunk", bytes=…, json=…}`.
    static func chunkEvent(_ event: ResponseStreamEvent) -> LuaValue {
        switch event {
        case .chunk(let data):
            var m: [String: LuaValue] = ["type": "chunk"]
            if let text = String(data: data, encoding: .utf8) {
                m["bytes"] = .string(text)
            } else {
                m["bytes"] = .bytes(Array(data))
            }
            if let json = LuaJSON.parsedIfBounded(data) { m["json"] = json }
            return .map(m)
        case .unknown(let type, let payload):
            return .map(["type": "unknown", "event": .string(type), "payload": LuaJSON.lua(from: payload)])
        case .restarted(let attempt, let reason):
            return .map(["type": "restart", "attempt": .integer(Int64(attempt)), "reason": .string(reason)])
        }
    }

    /// A service JSON document with its object keys in snake_case (free-form parts too).
    static func snakeCased(_ json: JSONValue) -> LuaValue {
        switch json {
        case .object(let members):
            var m: [String: LuaValue] = [:]
            for (k, v) in members { m[RequestBuilder.snakeCase(k)] = snakeCased(v) }
            return .map(m)
        case .array(let items): return items.isEmpty ? .map([:]) : .array(items.map(snakeCased))
        default: return LuaJSON.lua(from: json)
        }
    }
}
