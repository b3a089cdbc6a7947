import Foundation

/// Converts between Lua values and JSON: the bridge under `json.encode/decode` and
/// every request and response table.
///
/// Lua tables with keys 1…n become arrays; tables with string keys become objects (keys
/// sorted, so output is deterministic); an empty table is `{}` (use `json.array()` …
/// or `json.empty_array` for `[]`); `json.null` is JSON null.
public enum LuaJSON {
    /// The JSON form of `value`, or an error naming the path of what cannot be JSON.
    public static func json(from value: LuaValue, path: String = "value") throws(ScriptError) -> JSONValue {
        switch value {
        case .nil, .null: return .null
        case .boolean(let b): return .bool(b)
        case .integer(let i): return .integer(i)
        case .number(let d):
            guard d.isFinite else {
                throw ScriptError(code: .validationError, message: "\(path): \(d) cannot be represented in JSON")
            }
            return .double(d)
        case .string(let s): return .string(s)
        case .bytes:
            throw ScriptError(
                code: .validationError, message: "\(path): a string that is not valid UTF-8 cannot be JSON text")
        case .array(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() { out.append(try json(from: item, path: "\(path)[\(i + 1)]")) }
            return .array(out)
        case .map(let members):
            if members.isEmpty { return .object([]) }
            if members.count == 1, members[emptyArrayKey] != nil { return .array([]) }
            var out: [(String, JSONValue)] = []
            out.reserveCapacity(members.count)
            for key in members.keys.sorted() {
                guard let member = members[key] else { continue }
                out.append((key, try json(from: member, path: path.isEmpty ? key : "\(path).\(key)")))
            }
            return .object(out)
        case .tagged(_, let inner): return try json(from: inner, path: path)
        case .function:
            throw ScriptError(code: .validationError, message: "\(path): a function cannot be JSON")
        case .handle(let h):
            throw ScriptError(code: .validationError, message: "\(path): a \(h.typeName) handle cannot be JSON")
        case .encodedList:
            throw ScriptError(code: .validationError, message: "\(path): a pre-encoded list cannot be JSON")
        }
    }

    /// The Lua form of a JSON value: objects become tables with the same keys, arrays
    /// become sequences (an empty array an empty table), null becomes `json.null`.
    public static func lua(from json: JSONValue) -> LuaValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .boolean(b)
        case .integer(let i): return .integer(i)
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .array(let items): return items.isEmpty ? .map([:]) : .array(items.map(lua(from:)))
        case .object(let members):
            var map: [String: LuaValue] = [:]
            map.reserveCapacity(members.count)
            for (k, v) in members where map[k] == nil { map[k] = lua(from: v) }
            return .map(map)
        }
    }

    /// The marker key `json.empty_array` uses so `{}` and `[]` can both be written.
    static let emptyArrayKey = "\u{1}quarry.empty_array"

    /// JSON text for a Lua value (`json.encode`); `pretty` indents with two spaces.
    public static func encode(_ value: LuaValue, pretty: Bool = false) throws(ScriptError) -> String {
        let document = try json(from: value, path: "value")
        return pretty ? prettyText(document, indent: "") : JSONWriter.compact.string(document)
    }

    /// The Lua value for JSON text (`json.decode`); bad JSON is an error with the byte offset.
    public static func decode(_ text: String, maxItems: Int = LuaConversionLimits().maxItems) throws(ScriptError)
        -> LuaValue
    {
        let bound = parseBound(maxItems: maxItems)
        guard JSONStructure.holdsAtMost(bound, valuesIn: text.utf8) else {
            throw ScriptError(
                code: .jsonError,
                message: "json.decode: the text holds more than \(bound) JSON values, more than a script's value "
                    + "may hold (at most \(maxItems) table elements); decode it in parts")
        }
        do {
            return lua(from: try JSONParser.parse(text))
        } catch {
            throw ScriptError(code: .jsonError, message: "json.decode: \(error.description)")
        }
    }

    /// A script's own JSON (an InvokeModel body, read for its token cap and estimate)
    /// parsed as a tree, or nil when it is not JSON or holds more values than
    /// `json.decode` would parse: the tree is Swift memory the sandbox's cap does not see.
    static func parsedIfWithinParseBound(_ bytes: some Collection<UInt8>) -> JSONValue? {
        guard JSONStructure.holdsAtMost(QuarryTarget.maxJSONValuesForScripts, valuesIn: bytes) else { return nil }
        return try? JSONParser.parse(bytes)
    }

    /// The most values a JSON text may hold to be parsed by `json.decode`: twice the table
    /// elements one value may carry into Lua (`maxItems`). The parsed tree, which the
    /// sandbox's memory cap does not see, stays bounded however the text is shaped; the
    /// conversion into Lua then enforces `maxItems` exactly.
    static func parseBound(maxItems: Int) -> Int {
        maxItems > Int.max / 2 ? Int.max : 2 * max(1, maxItems)
    }

    /// `bytes` parsed as JSON for a script (InvokeModel's answer, a stream chunk, a
    /// structured-output text), or nil when it is not JSON or holds more values than a
    /// script's value may hold table elements (`maxItems`): the answer's text still
    /// reaches the script, and the tree of a hostile answer of tiny values is never built.
    static func parsedIfBounded(_ bytes: some Collection<UInt8>, maxItems: Int = LuaConversionLimits().maxItems)
        -> LuaValue?
    {
        guard JSONStructure.holdsAtMost(maxItems, valuesIn: bytes),
            let json = try? JSONParser.parse(bytes)
        else { return nil }
        return lua(from: json)
    }

    private static func prettyText(_ value: JSONValue, indent: String) -> String {
        let inner = indent + "  "
        switch value {
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + prettyText($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let members) where !members.isEmpty:
            return "{\n"
                + members.map {
                    inner + JSONWriter.compact.string(.string($0.0)) + ": " + prettyText($0.1, indent: inner)
                }
                .joined(separator: ",\n") + "\n\(indent)}"
        default:
            return JSONWriter.compact.string(value)
        }
    }
}
