import LuaSandbox

/// The internal function table the prelude captures (`__quarry`): the host functions of
/// every binding family, each registered in the Lua state under its dotted name.
struct HostFunctionTable {
    /// The state the functions are registered in.
    let state: LuaState
    /// The functions so far, by name (`bedrock.converse`, `json.encode`, …).
    private(set) var functions: [String: LuaValue] = [:]

    /// Registers `body` under `name`.
    mutating func add(_ name: String, _ body: @escaping LuaHostFunction) {
        functions[name] = state.register(name, body)
    }

    /// Every family's functions for a host: `bedrock.*`/`stream.*`, `json.*`, `base64.*`,
    /// `stdin.read`/`stderr.write`, `log`, `sleep`/`now`, `uuid`, `group`/`race`.
    static func make(core: HostCore, state: LuaState) throws -> [String: LuaValue] {
        var table = HostFunctionTable(state: state)
        try BedrockBindings(core: core).register(into: &table)
        JSONBindings().register(into: &table)
        Base64Bindings().register(into: &table)
        StdioBindings(core: core).register(into: &table)
        LogBindings(core: core).register(into: &table)
        TimeBindings().register(into: &table)
        UUIDBindings().register(into: &table)
        ConcurrencyBindings().register(into: &table)
        return table.functions
    }
}
