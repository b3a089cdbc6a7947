#include "CLuaShim.h"

int quarry_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}

void quarry_lua_pop(lua_State *L, int n) { lua_pop(L, n); }

const char *quarry_lua_tostring(lua_State *L, int idx, size_t *len) {
    return lua_tolstring(L, idx, len);
}

int quarry_lua_load_text(lua_State *L, const char *source, size_t length, const char *chunkname) {
    /* mode "t": binary chunks are never accepted (Debian's 5.4.4 crashes on corrupt ones). */
    return luaL_loadbufferx(L, source, length, chunkname, "t");
}
