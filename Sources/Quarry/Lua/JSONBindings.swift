/// `json.encode(value, {pretty=})` and `json.decode(text)`, through `LuaJSON`; failures
/// are `JSONError`s naming the function.
struct JSONBindings {
    /// Adds `json.encode` and `json.decode` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("json.encode", jsonEncode)
        table.add("json.decode", jsonDecode)
    }

    private func jsonEncode(_ call: LuaHostCall) -> LuaHostResult {
        do throws(ScriptError) {
            var pretty = false
            if case .map(let opts) = call.argument(2) {
                pretty = opts["pretty"] == .boolean(true) || opts["indent"] != nil
            }
            return .values([.string(try LuaJSON.encode(call.argument(1), pretty: pretty))])
        } catch {
            return .error(ScriptError(code: .jsonError, message: "json.encode: " + error.message).luaValue)
        }
    }

    private func jsonDecode(_ call: LuaHostCall) -> LuaHostResult {
        guard let text = call.argument(1).stringValue else {
            return .error(ScriptError(code: .jsonError, message: "json.decode: expected a string").luaValue)
        }
        do throws(ScriptError) {
            return .values([try LuaJSON.decode(text, maxItems: call.state.argumentLimits.maxItems)])
        } catch {
            return .error(error.luaValue)
        }
    }
}
