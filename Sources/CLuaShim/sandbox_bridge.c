/* The bridge between Swift and Lua: host-function trampolines, the encoded value
   format Swift hands to C, handles, the null sentinel, and protected helpers. */
#include "sandbox_internal.h"
#include <stdlib.h>
#include <string.h>

/* ---------- encoded values (little-endian) ----------
   0 nil | 1 false | 2 true | 3 int64 | 4 double | 5 string: u64 len, bytes
   6 array: u64 n, n values | 7 map: u64 n, n (key, value) | 8 null sentinel
   9 registry ref: int64 | 10 table with named metatable: string name, value
   11 handle: string type, int64 id, string label | 12 host function: int64 id, string name
   A value list is u64 n then n values. */

typedef struct reader { const uint8_t *p; size_t left; } reader;

static void need(lua_State *L, reader *r, size_t n) {
    if (r->left < n) luaL_error(L, "internal error: truncated encoded value");
}
static uint64_t read_u64(lua_State *L, reader *r) {
    need(L, r, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | r->p[i];
    r->p += 8; r->left -= 8;
    return v;
}
static const char *read_bytes(lua_State *L, reader *r, size_t *len) {
    uint64_t n = read_u64(L, r);
    need(L, r, n);
    const char *s = (const char *)r->p;
    r->p += n; r->left -= n;
    *len = (size_t)n;
    return s;
}

static const char handle_types_key = 'h';
static const char metatables_key = 'm';
static const char null_key = 'n';

static void push_named(lua_State *L, const void *registry_key, const char *name, size_t len) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, registry_key);
    lua_pushlstring(L, name, len);
    lua_rawget(L, -2);
    lua_remove(L, -2);
}

static void push_host_function(lua_State *L, int64_t id, const char *name, size_t len) {
    lua_pushinteger(L, id);
    lua_pushlstring(L, name, len);
    lua_pushcclosure(L, quarry_host_trampoline, 2);
}

static void push_value(lua_State *L, reader *r, int depth) {
    if (depth > 200) luaL_error(L, "value nested too deeply");
    luaL_checkstack(L, 4, "value nested too deeply");
    need(L, r, 1);
    uint8_t tag = *r->p++;
    r->left--;
    size_t len;
    const char *s;
    switch (tag) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, 0); break;
    case 2: lua_pushboolean(L, 1); break;
    case 3: lua_pushinteger(L, (lua_Integer)(int64_t)read_u64(L, r)); break;
    case 4: { uint64_t bits = read_u64(L, r); double d; memcpy(&d, &bits, 8); lua_pushnumber(L, d); break; }
    case 5: s = read_bytes(L, r, &len); lua_pushlstring(L, s, len); break;
    case 6: {
        uint64_t n = read_u64(L, r);
        lua_createtable(L, n < 1000000 ? (int)n : 0, 0);
        for (uint64_t i = 1; i <= n; i++) { push_value(L, r, depth + 1); lua_rawseti(L, -2, (lua_Integer)i); }
        break;
    }
    case 7: {
        uint64_t n = read_u64(L, r);
        lua_createtable(L, 0, n < 1000000 ? (int)n : 0);
        for (uint64_t i = 0; i < n; i++) {
            push_value(L, r, depth + 1);
            push_value(L, r, depth + 1);
            if (lua_isnil(L, -2)) luaL_error(L, "table key is nil");
            lua_rawset(L, -3);
        }
        break;
    }
    case 8: lua_rawgetp(L, LUA_REGISTRYINDEX, &null_key); break;
    case 9: lua_rawgeti(L, LUA_REGISTRYINDEX, (lua_Integer)(int64_t)read_u64(L, r)); break;
    case 10: {
        s = read_bytes(L, r, &len);
        push_value(L, r, depth + 1);
        push_named(L, &metatables_key, s, len);
        if (!lua_istable(L, -1)) luaL_error(L, "unknown metatable '%s'", s);
        lua_setmetatable(L, -2);
        break;
    }
    case 11: {
        s = read_bytes(L, r, &len);
        int64_t id = (int64_t)read_u64(L, r);
        size_t llen;
        const char *label = read_bytes(L, r, &llen);
        quarry_userdata *u = lua_newuserdatauv(L, sizeof *u, 1);
        u->magic = QUARRY_UD_HANDLE;
        u->id = id;
        lua_pushlstring(L, label, llen);
        lua_setiuservalue(L, -2, 1);
        push_named(L, &handle_types_key, s, len);
        if (!lua_istable(L, -1)) luaL_error(L, "unknown handle type");
        lua_setmetatable(L, -2);
        break;
    }
    case 12: {
        int64_t id = (int64_t)read_u64(L, r);
        s = read_bytes(L, r, &len);
        push_host_function(L, id, s, len);
        break;
    }
    default: luaL_error(L, "internal error: unknown value tag %d", (int)tag);
    }
}

/* Pushes an encoded value list; returns how many values. */
int quarry_decode_values(lua_State *L, const uint8_t *data, size_t length) {
    reader r = { data, length };
    uint64_t n = read_u64(L, &r);
    if (n > 1000000 || !lua_checkstack(L, (int)n + 4)) luaL_error(L, "too many values");
    for (uint64_t i = 0; i < n; i++) push_value(L, &r, 0);
    return (int)n;
}

/* ---------- protected operations ---------- */

typedef struct op_args {
    const uint8_t *data; size_t length;
    const char *name;
    int flag;
    int count;
} op_args;

static int run_protected(lua_State *L, lua_CFunction f, op_args *a) {
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, a);
    return lua_pcall(L, 1, LUA_MULTRET, 0);
}

static int op_push_values(lua_State *L) {
    op_args *a = lua_touserdata(L, 1);
    lua_pop(L, 1);
    a->count = quarry_decode_values(L, a->data, a->length);
    return a->count;
}

int quarry_push_values(lua_State *L, const uint8_t *data, size_t length, int *count) {
    op_args a = { data, length, NULL, 0, 0 };
    int status = run_protected(L, op_push_values, &a);
    *count = status == LUA_OK ? a.count : 0;
    return status;
}

static int op_set_global(lua_State *L) {
    op_args *a = lua_touserdata(L, 1);
    reader r = { a->data, a->length };
    if (read_u64(L, &r) != 1) luaL_error(L, "internal error: expected one value");
    push_value(L, &r, 0);
    if (a->flag && lua_istable(L, -1)) quarry_make_readonly(L, 1);
    lua_setglobal(L, a->name);
    return 0;
}

static int op_freeze_global(lua_State *L) {
    op_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    if (lua_getglobal(L, a->name) != LUA_TTABLE) luaL_error(L, "global %s is not a table", a->name);
    quarry_make_readonly(L, a->flag);
    lua_setglobal(L, a->name);
    return 0;
}

int quarry_freeze_global(lua_State *L, const char *name, int deep) {
    op_args a = { NULL, 0, name, deep, 0 };
    return run_protected(L, op_freeze_global, &a);
}

int quarry_set_global(lua_State *L, const char *name, const uint8_t *data, size_t length, int read_only) {
    op_args a = { data, length, name, read_only, 0 };
    return run_protected(L, op_set_global, &a);
}

static int handle_tostring(lua_State *L) {
    quarry_userdata *u = lua_touserdata(L, 1);
    if (u == NULL || u->magic != QUARRY_UD_HANDLE || !lua_getmetatable(L, 1)) {
        lua_pushliteral(L, "handle");
        return 1;
    }
    lua_getfield(L, -1, "__name");
    lua_getiuservalue(L, 1, 1);
    lua_pushfstring(L, "%s<%s>", lua_tostring(L, -2), lua_tostring(L, -1));
    return 1;
}

static int handle_newindex(lua_State *L) {
    return luaL_error(L, "cannot assign fields of a %s handle", luaL_typename(L, 1));
}

static int op_define_handle_type(lua_State *L) {
    op_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    reader r = { a->data, a->length };
    if (read_u64(L, &r) != 1) luaL_error(L, "internal error: expected one value");
    lua_createtable(L, 0, 6);                          /* 1: metatable */
    push_value(L, &r, 0);                              /* 2: methods */
    if (!lua_istable(L, 2)) luaL_error(L, "handle methods must be a table");
    quarry_make_readonly(L, 0);
    lua_setfield(L, 1, "__index");
    lua_pushcfunction(L, handle_newindex);
    lua_setfield(L, 1, "__newindex");
    lua_pushcfunction(L, handle_tostring);
    lua_setfield(L, 1, "__tostring");
    lua_pushstring(L, a->name);
    lua_setfield(L, 1, "__name");
    lua_pushliteral(L, "locked");
    lua_setfield(L, 1, "__metatable");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &handle_types_key);
    lua_pushstring(L, a->name);
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 0;
}

int quarry_define_handle_type(lua_State *L, const char *type_name, const uint8_t *methods, size_t length) {
    op_args a = { methods, length, type_name, 0, 0 };
    return run_protected(L, op_define_handle_type, &a);
}

static int op_define_metatable(lua_State *L) {
    op_args *a = lua_touserdata(L, 2);
    lua_settop(L, 1);
    lua_call(L, 0, 1);
    if (!lua_istable(L, 1)) luaL_error(L, "metatable definition for '%s' must return a table", a->name);
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 1) != LUA_TNIL) luaL_error(L, "metatables may not have __gc");
    lua_pop(L, 1);
    lua_pushliteral(L, "locked");
    lua_setfield(L, 1, "__metatable");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &metatables_key);
    lua_pushstring(L, a->name);
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 0;
}

int quarry_define_metatable(lua_State *L, const char *name) {
    op_args a = { NULL, 0, name, 0, 0 };
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    lua_pushcfunction(L, op_define_metatable);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, &a);
    return lua_pcall(L, 2, 0, 0);
}

static int op_describe(lua_State *L) {
    if (lua_type(L, 1) != LUA_TSTRING) {
        quarry_raise_if_tripped(L);   /* no script __tostring once a limit tripped */
        int t = lua_type(L, 1);
        if ((t == LUA_TTABLE || t == LUA_TUSERDATA) && luaL_getmetafield(L, 1, "__tostring") == LUA_TNIL) {
            lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
            return 1;
        }
        lua_settop(L, 1);
        luaL_tolstring(L, 1, NULL);
    }
    return 1;
}

int quarry_describe(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        if (!lua_checkstack(L, 1)) return 0;
        lua_pushvalue(L, idx);
        return 1;
    }
    if (!lua_checkstack(L, 3)) return 0;
    lua_pushcfunction(L, op_describe);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) return 1;
    lua_pop(L, 1);
    return 0;
}

static int op_ref(lua_State *L) {
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

int quarry_ref(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (!lua_checkstack(L, 3)) return LUA_NOREF;
    lua_pushcfunction(L, op_ref);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) { lua_pop(L, 1); return LUA_NOREF; }
    int ref = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return ref;
}

void quarry_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
void quarry_push_ref(lua_State *L, int ref) { lua_rawgeti(L, LUA_REGISTRYINDEX, ref); }

static int op_new_coroutine(lua_State *L) {
    op_args *a = lua_touserdata(L, 2);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "quarry.hostthreads");
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    a->count = luaL_ref(L, LUA_REGISTRYINDEX);
    *(lua_State **)(void *)a->data = co;
    return 0;
}

int quarry_new_coroutine(lua_State *L, lua_State **thread) {
    lua_State *co = NULL;
    op_args a = { (const uint8_t *)&co, 0, NULL, 0, LUA_NOREF };
    if (!lua_checkstack(L, 3)) { lua_pop(L, 1); return LUA_NOREF; }
    lua_pushcfunction(L, op_new_coroutine);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) { lua_pop(L, 1); return LUA_NOREF; }
    *thread = co;
    return a.count;
}

/* ---------- host calls ---------- */

/* Marks (or unmarks) the running thread as waiting for a host call: the innermost
   coroutine of the call and every coroutine its suspension passes through. A marked
   coroutine cannot be resumed, wrapped or closed by script code (see sandbox_libs.c). */
void quarry_set_awaiting(lua_State *L, int yes) {
    lua_getfield(L, LUA_REGISTRYINDEX, "quarry.awaiting");
    lua_pushthread(L);
    if (yes) lua_pushboolean(L, 1); else lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}


/* Host errors are tables with no position; record where the script made the call
   (the nearest Lua frame outside Quarry's own prelude) as field `where` ("file:line"),
   so a script's error report can name its line like a Lua error does. */
static void annotate_host_error(lua_State *L) {
    if (lua_type(L, -1) != LUA_TTABLE || !lua_checkstack(L, 4)) return;
    lua_pushliteral(L, "where");
    if (lua_rawget(L, -2) != LUA_TNIL) { lua_pop(L, 1); return; }
    lua_pop(L, 1);
    lua_Debug ar;
    for (int level = 1; level < 64 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
        if (strncmp(ar.source, "=[quarry", 8) == 0) continue;
        lua_pushliteral(L, "where");
        lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
        lua_rawset(L, -3);
        return;
    }
}

/* Runs when the scheduler resumes a coroutine suspended in a host call: the resume
   values are the call's results, unless they start with the error marker. */
static int host_continue(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    int base = (int)ctx;
    quarry_set_awaiting(L, 0);
    /* The wait may have outlived the deadline or been interrupted: check before the
       script goes on (a zero charge reads the clock and the interrupt flag). */
    quarry_charge(L, 0);
    int n = lua_gettop(L) - base;
    if (n >= 1 && lua_touserdata(L, base + 1) == &quarry_error_marker) {
        if (n < 2) lua_pushnil(L);
        lua_settop(L, base + 2);
        annotate_host_error(L);
        return lua_error(L);
    }
    return n;
}

/* Every host function is this C closure (upvalues: id, name). Swift reads the arguments
   and leaves a reply; only here, with no Swift frame on the stack, can Lua raise. */
int quarry_host_trampoline(lua_State *L) {
    quarry_sandbox *sb = quarry_sb(L);
    quarry_raise_if_tripped(L);
    if (++sb->host_calls > sb->limits.host_calls)
        quarry_trip_now(L, QUARRY_TRIP_HOST_CALLS, "sandbox limit: host call limit of %lld reached",
                        (long long)sb->limits.host_calls);
    int nargs = lua_gettop(L);
    int64_t id = (int64_t)lua_tointeger(L, lua_upvalueindex(1));
    sb->reply_kind = QUARRY_REPLY_NONE;
    sb->reply_len = 0;
    if (!lua_checkstack(L, 40)) luaL_error(L, "stack overflow in host call");
    sb->host(sb->ctx, L, id, nargs);
    lua_settop(L, nargs);
    switch (sb->reply_kind) {
    case QUARRY_REPLY_RETURN:
        return quarry_decode_values(L, sb->reply, sb->reply_len);
    case QUARRY_REPLY_ERROR: {
        int n = quarry_decode_values(L, sb->reply, sb->reply_len);
        if (n == 0) lua_pushnil(L);
        annotate_host_error(L);
        return lua_error(L);
    }
    case QUARRY_REPLY_SUSPEND:
        if (!lua_isyieldable(L))
            return luaL_error(L, "%s cannot wait here: it was called where Lua cannot yield "
                                 "(a metamethod, a sort comparator or a gsub callback)",
                              lua_tostring(L, lua_upvalueindex(2)));
        quarry_set_awaiting(L, 1);
        lua_settop(L, 0);
        lua_pushlightuserdata(L, (void *)&quarry_suspend_marker);
        lua_pushinteger(L, sb->reply_request);
        return lua_yieldk(L, 2, 0, host_continue);
    default:
        return luaL_error(L, "internal error: host function %s gave no reply",
                          lua_tostring(L, lua_upvalueindex(2)));
    }
}

static void store_reply(quarry_sandbox *sb, int kind, const uint8_t *data, size_t length) {
    sb->reply_kind = QUARRY_REPLY_NONE;
    if (length > sb->reply_cap) {
        uint8_t *p = realloc(sb->reply, length);
        if (p == NULL) return;
        sb->reply = p;
        sb->reply_cap = length;
    }
    if (length > 0) memcpy(sb->reply, data, length);
    sb->reply_len = length;
    sb->reply_kind = kind;
}

void quarry_sandbox_reply(quarry_sandbox *sb, int kind, const uint8_t *data, size_t length) {
    store_reply(sb, kind, data, length);
}

void quarry_sandbox_reply_suspend(quarry_sandbox *sb, int64_t request_id) {
    sb->reply_kind = QUARRY_REPLY_SUSPEND;
    sb->reply_request = request_id;
}

int quarry_resume(quarry_sandbox *sb, lua_State *co, int nargs, int *nresults,
                  int *suspended, int64_t *request_id) {
    *suspended = 0;
    *nresults = 0;
    int nres = 0;
    int status = lua_resume(co, NULL, nargs, &nres);
    if (status == LUA_YIELD && nres == 2 && lua_touserdata(co, -2) == &quarry_suspend_marker) {
        *suspended = 1;
        *request_id = (int64_t)lua_tointeger(co, -1);
        lua_settop(co, lua_gettop(co) - 2);
        return status;
    }
    if (status == LUA_ERRMEM && sb->trip == QUARRY_TRIP_NONE) {
        sb->trip = QUARRY_TRIP_MEMORY;
        snprintf(sb->trip_message, sizeof sb->trip_message,
                 "sandbox limit: memory cap of %zu bytes reached (not enough memory)", sb->limits.memory_bytes);
    }
    *nresults = (status == LUA_OK || status == LUA_YIELD) ? nres : 1;
    return status;
}

void quarry_push_error_marker(lua_State *L) {
    lua_pushlightuserdata(L, (void *)&quarry_error_marker);
}

/* ---------- null sentinel and handles ---------- */

static int null_tostring(lua_State *L) { lua_pushliteral(L, "null"); return 1; }

int quarry_is_null(lua_State *L, int idx) {
    quarry_userdata *u = lua_type(L, idx) == LUA_TUSERDATA ? lua_touserdata(L, idx) : NULL;
    return u != NULL && u->magic == QUARRY_UD_NULL;
}

int quarry_handle_id(lua_State *L, int idx, int64_t *id) {
    quarry_userdata *u = lua_type(L, idx) == LUA_TUSERDATA ? lua_touserdata(L, idx) : NULL;
    if (u == NULL || u->magic != QUARRY_UD_HANDLE) return 0;
    *id = u->id;
    return 1;
}

/* Called while the libraries open: registry tables for the bridge and the null value. */
int quarry_open_bridge(lua_State *L);
int quarry_open_bridge(lua_State *L) {
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &handle_types_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &metatables_key);
    quarry_userdata *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->magic = QUARRY_UD_NULL;
    u->id = 0;
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "null");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, handle_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, handle_newindex);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &null_key);
    return 0;
}

/* ---------- keys for completion ---------- */

/* The string keys of the value at `value` and of its __index tables; with `methods`,
   only keys whose value is a function (what `obj:` can call). */
static void collect_keys(lua_State *L, int value, int out, int depth, int methods) {
    if (depth > 3) return;
    value = lua_absindex(L, value);
    if (lua_type(L, value) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, value)) {
            int is_function = lua_type(L, -1) == LUA_TFUNCTION;
            lua_pop(L, 1);
            if (lua_type(L, -1) == LUA_TSTRING && (!methods || is_function)) {
                lua_pushvalue(L, -1);
                lua_pushboolean(L, 1);
                lua_rawset(L, out);
            }
        }
    }
    if (lua_getmetatable(L, value)) {
        lua_pushliteral(L, "__index");
        if (lua_rawget(L, -2) == LUA_TTABLE) collect_keys(L, -1, out, depth + 1, methods);
        lua_pop(L, 2);
    }
}

static int op_list_keys(lua_State *L) {
    const char *path = lua_touserdata(L, 1);
    /* A trailing ':' (`c:`) asks for the methods only. */
    size_t path_len = strlen(path);
    int methods = path_len > 0 && path[path_len - 1] == ':';
    const char *end = path + path_len - methods;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);     /* 2: current */
    const char *p = path;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        int t = lua_type(L, -1);
        if (t == LUA_TTABLE) {
            lua_pushlstring(L, p, len);
            lua_rawget(L, -2);
            if (lua_isnil(L, -1) && lua_getmetatable(L, -2)) {   /* read-only proxy or handle */
                lua_pushliteral(L, "__index");
                if (lua_rawget(L, -2) == LUA_TTABLE) {
                    lua_pushlstring(L, p, len);
                    lua_rawget(L, -2);
                    lua_replace(L, -4);
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            }
        } else if (t == LUA_TSTRING || t == LUA_TUSERDATA) {
            lua_pushnil(L);
            if (lua_getmetatable(L, -2)) {
                lua_pushliteral(L, "__index");
                if (lua_rawget(L, -2) == LUA_TTABLE) {
                    lua_pushlstring(L, p, len);
                    lua_rawget(L, -2);
                    lua_replace(L, -4);
                }
                lua_pop(L, 2);
            }
        } else {
            lua_pushnil(L);
        }
        lua_remove(L, -2);
        if (lua_isnil(L, -1)) break;
        p = dot ? dot + 1 : p + len;
    }
    lua_newtable(L);                                        /* set of keys */
    int set = lua_gettop(L);
    if (lua_type(L, set - 1) == LUA_TSTRING) {
        lua_getmetatable(L, set - 1);
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        collect_keys(L, -1, set, 0, methods);
        lua_pop(L, 2);
    } else {
        collect_keys(L, set - 1, set, 0, methods);
    }
    lua_newtable(L);                                        /* array of keys */
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, set)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, ++n);
    }
    return 1;
}

int quarry_list_keys(lua_State *L, const char *path) {
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    lua_pushcfunction(L, op_list_keys);
    lua_pushlightuserdata(L, (void *)path);
    return lua_pcall(L, 1, 1, 0);
}

int quarry_clear_metatable(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (quarry_push_readonly_target(L, 1)) return 0;
    lua_settop(L, 1);
    lua_pushnil(L);
    lua_setmetatable(L, 1);
    return 0;
}
