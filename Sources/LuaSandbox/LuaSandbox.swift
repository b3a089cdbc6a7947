import CLua
import CLuaShim

/// The version string of the Lua library Quarry is linked against (for example `Lua 5.4`).
public let luaVersion: String = LUA_VERSION_MAJOR + "." + LUA_VERSION_MINOR
