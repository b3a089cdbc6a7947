#ifndef QUARRY_CLUASHIM_H
#define QUARRY_CLUASHIM_H
/* C helpers around the Lua C API: function-like macros Swift cannot import,
   and trampolines so that Lua errors never unwind through Swift frames. */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/** lua_pcall, which is a macro in lua.h. */
int quarry_lua_pcall(lua_State *L, int nargs, int nresults, int msgh);
/** lua_pop, which is a macro in lua.h. */
void quarry_lua_pop(lua_State *L, int n);
/** lua_tolstring without the length out-parameter's macro form. */
const char *quarry_lua_tostring(lua_State *L, int idx, size_t *len);
/** Loads a text chunk; never raises. Returns a Lua status code. */
int quarry_lua_load_text(lua_State *L, const char *source, size_t length, const char *chunkname);

#endif
