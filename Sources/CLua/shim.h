#ifndef QUARRY_CLUA_SHIM_H
#define QUARRY_CLUA_SHIM_H
/* The Lua 5.4 C API, exactly as Debian's liblua5.4-dev installs it. */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#endif
