import Foundation

/// `base64.encode(bytes)` and `base64.decode(text)`: standard base64 (RFC 4648, with
/// padding) over Lua strings, which are bytes. For media the service wants inline, and
/// for bytes that must travel as text (JSON, logs).
struct Base64Bindings {
    /// Adds `base64.encode` and `base64.decode` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("base64.encode", encode)
        table.add("base64.decode", decode)
    }

    private func encode(_ call: LuaHostCall) -> LuaHostResult {
        guard let bytes = Self.bytes(call.argument(1)) else {
            return .error(
                ScriptError(
                    code: .validationError,
                    message: "base64.encode: expected a string (bytes), got \(Self.typeName(call.argument(1)))"
                ).luaValue)
        }
        return .values([.string(Data(bytes).base64EncodedString())])
    }

    private func decode(_ call: LuaHostCall) -> LuaHostResult {
        guard let text = Self.bytes(call.argument(1)) else {
            return .error(
                ScriptError(
                    code: .validationError,
                    message: "base64.decode: expected a string of base64 text, got \(Self.typeName(call.argument(1)))"
                ).luaValue)
        }
        guard let data = Self.decoded(text) else {
            return .error(
                ScriptError(
                    code: .validationError,
                    message: "base64.decode: the text is not valid base64 (A–Z, a–z, 0–9, +, / and = padding)"
                ).luaValue)
        }
        return .values([.bytes(Array(data))])
    }

    /// The bytes of a Lua string, nil for any other value.
    static func bytes(_ value: LuaValue) -> [UInt8]? {
        switch value {
        case .string(let s): Array(s.utf8)
        case .bytes(let b): b
        default: nil
        }
    }

    /// `text` decoded as standard base64 (whitespace around it ignored), nil when it is not.
    static func decoded(_ text: [UInt8]) -> Data? {
        var trimmed = text[...]
        while let f = trimmed.first, f == 0x20 || f == 0x0A || f == 0x0D || f == 0x09 { trimmed = trimmed.dropFirst() }
        while let l = trimmed.last, l == 0x20 || l == 0x0A || l == 0x0D || l == 0x09 { trimmed = trimmed.dropLast() }
        return Data(base64Encoded: Data(trimmed))
    }

    static func typeName(_ value: LuaValue) -> String {
        switch value {
        case .nil: "nil"
        case .boolean: "a boolean"
        case .integer, .number: "a number"
        case .string, .bytes: "a string"
        case .function: "a function"
        case .null: "json.null"
        default: "a table"
        }
    }
}
