import CLua
import CLuaShim
import Testing

@testable import LuaSandbox

@Suite struct LinkTests {
    @Test func luaLibraryLinksAndRunsAChunk() throws {
        let L = try #require(luaL_newstate())
        defer { lua_close(L) }
        let source = "return 6 * 7, (\"Lua \" .. 5.4)"
        let loaded = source.withCString { quarry_lua_load_text(L, $0, source.utf8.count, "=link") }
        #expect(loaded == LUA_OK)
        #expect(quarry_lua_pcall(L, 0, 2, 0) == LUA_OK)
        #expect(lua_tointegerx(L, -2, nil) == 42)
        var len = 0
        let version = try String(cString: #require(quarry_lua_tostring(L, -1, &len)))
        #expect(version == "Lua 5.4")
        #expect(luaVersion == "5.4")
    }
}
