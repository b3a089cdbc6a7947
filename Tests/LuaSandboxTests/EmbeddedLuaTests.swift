import Testing

@testable import LuaSandbox

/// The Lua source `LuaSandbox` embeds at build time (issue 17 item 5): the error
/// metatable compiles in a real lua_State, opens with its header comment, and gives
/// error tables their `code: message` text.
@Suite struct EmbeddedLuaTests {
    @Test func errorMetatableCompilesAndFormatsErrors() throws {
        let source = String(decoding: PackageResources.error_metatable_lua, as: UTF8.self)
        #expect(source.hasPrefix("-- The metatable of host error tables"))
        let state = try LuaState()  // defines the metatable from this source, or throws
        let function = try state.load(source, name: "=metatable " + LuaState.errorMetatable)
        state.release(function)
        let values = try state.execute(
            "local mt = (function()\n" + source + " end)()\n"
                + "return tostring(setmetatable({code = 'X', message = 'm'}, mt)), mt.__name")
        #expect(values == [.string("X: m"), .string("error")])
    }
}
