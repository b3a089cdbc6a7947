import Foundation

/// Image, document, video and audio blocks: their `source` takes the raw bytes (a Lua
/// string, which is bytes) or `{base64 = "…"}`, and the request carries them as the
/// service's base64 text. Anything else where bytes belong is a `ValidationError`
/// naming the field.
extension RequestBuilder {
    /// The content-block kinds that carry media bytes.
    static let mediaKinds: Set<String> = ["image", "document", "video", "audio"]

    /// A media block's service shape (`{"image": {…}}`) from its fields (`format`,
    /// `name`, `source`, …; snake_case keys are camel-cased).
    func mediaBlock(kind: String, fields: [String: LuaValue], path: String) throws(ScriptError) -> JSONValue {
        var rest = fields
        let source = rest.removeValue(forKey: "source")
        var members: [(String, JSONValue)] = []
        for key in rest.keys.sorted() {
            members.append(
                (Self.camelCase(key), try LuaJSON.json(from: rest[key] ?? .nil, path: "\(function): \(path).\(key)")))
        }
        if let source, source != .nil {
            members.append(("source", try mediaSource(source, path: "\(path).source")))
        }
        return .object([(kind, .object(members))])
    }

    /// A media source: raw bytes, `{base64 = …}`, `{bytes = raw or {base64 = …}}`, or
    /// another member of the service's union (`s3_location`, `text`, `content`).
    func mediaSource(_ value: LuaValue, path: String) throws(ScriptError) -> JSONValue {
        switch value {
        case .string, .bytes:
            return .object([("bytes", try mediaBytes(value, path: path))])
        case .map(let m) where m["base64"] != nil:
            return .object([("bytes", try mediaBytes(value, path: path))])
        case .map(let m) where m["bytes"] != nil:
            guard m.count == 1 else { throw fail("\(path) must have only 'bytes' when it has 'bytes'") }
            return .object([("bytes", try mediaBytes(m["bytes"] ?? .nil, path: "\(path).bytes"))])
        case .map(let m):
            var members: [(String, JSONValue)] = []
            for key in m.keys.sorted() {
                members.append(
                    (Self.camelCase(key), try LuaJSON.json(from: m[key] ?? .nil, path: "\(function): \(path).\(key)")))
            }
            return .object(members)
        default:
            throw fail("\(path) must be the raw bytes (a Lua string) or {base64 = \"…\"}, got \(Self.typeName(value))")
        }
    }

    /// Bytes as the service's base64 text: a Lua string is the raw bytes; `{base64 = text}`
    /// is checked and passed on.
    func mediaBytes(_ value: LuaValue, path: String) throws(ScriptError) -> JSONValue {
        switch value {
        case .string(let s): return .string(Data(s.utf8).base64EncodedString())
        case .bytes(let b): return .string(Data(b).base64EncodedString())
        case .map(let m) where m.count == 1 && m["base64"] != nil:
            guard let text = m["base64"].flatMap(Base64Bindings.bytes) else {
                throw fail("\(path).base64 must be a string of base64 text, got \(Self.typeName(m["base64"] ?? .nil))")
            }
            guard let data = Base64Bindings.decoded(text) else {
                throw fail("\(path).base64 is not valid base64 text (A–Z, a–z, 0–9, +, / and = padding)")
            }
            return .string(data.base64EncodedString())
        default:
            throw fail("\(path) must be the raw bytes (a Lua string) or {base64 = \"…\"}, got \(Self.typeName(value))")
        }
    }

    /// A decoding failure said in the script's terms: where, and what was expected.
    static func describe(_ error: any Error) -> String {
        func place(_ path: [any CodingKey]) -> String {
            var out = ""
            for key in path {
                if let i = key.intValue {
                    out += "[\(i + 1)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out.isEmpty ? "the request" : out
        }
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is Data.Type: "bytes (a Lua string, or {base64 = \"…\"})"
            case is String.Type: "a string"
            case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
            case is Double.Type, is Float.Type: "a number"
            case is Bool.Type: "true or false"
            default: "a value of another shape"
            }
        }
        switch error {
        case DecodingError.typeMismatch(let type, let context):
            return "\(place(context.codingPath)) must be \(kind(type))"
        case DecodingError.valueNotFound(let type, let context):
            return "\(place(context.codingPath)) must be \(kind(type))"
        case DecodingError.keyNotFound(let key, let context):
            let at = place(context.codingPath)
            return at == "the request" ? "'\(key.stringValue)' is required" : "\(at).\(key.stringValue) is required"
        case DecodingError.dataCorrupted(let context):
            return "\(place(context.codingPath)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
