/* The safe library subset: which functions scripts get, and the wrappers that bound
   the C functions no hook can interrupt. */
#include "sandbox_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>

/* ---------- read-only tables ---------- */

static int readonly_newindex(lua_State *L) {
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "cannot assign '%s': this table is read-only", key);
}

static int readonly_next(lua_State *L) {   /* upvalue 1: the real table */
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1))) return 2;
    lua_pushnil(L);
    return 1;
}

static int readonly_pairs(lua_State *L) {  /* upvalue 1: the real table */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, readonly_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int readonly_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

static int is_readonly(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &quarry_readonly_key);
    lua_pushvalue(L, idx);
    int yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return yes;
}

/* The deepest nesting a deep read-only conversion follows (its recursion is in C). */
#define QUARRY_READONLY_DEPTH 200

/* Replaces the table on top with an empty proxy whose locked metatable reads from it.
   The real table is unreachable from Lua; `rawset` refuses proxies (see sandbox_rawset).
   A table that is already a proxy stays as it is. With deep (visited is the index of a
   table mapping each real table to its proxy), nested tables are made read-only first;
   a table met again (a cycle, or one shared by two fields) gets the same proxy. */
static void readonly_proxy(lua_State *L, int deep, int visited, int depth) {
    luaL_checkstack(L, 8, "read-only table");
    int real = lua_gettop(L);
    if (is_readonly(L, real)) return;
    lua_newtable(L);                      /* proxy */
    int proxy = real + 1;
    if (deep) {
        if (depth >= QUARRY_READONLY_DEPTH)
            luaL_error(L, "table nested too deeply (more than %d levels) to make read-only",
                       QUARRY_READONLY_DEPTH);
        lua_pushvalue(L, real);
        lua_pushvalue(L, proxy);
        lua_rawset(L, visited);
        lua_pushnil(L);
        while (lua_next(L, real)) {
            if (lua_type(L, -1) != LUA_TTABLE) { lua_pop(L, 1); continue; }
            lua_pushvalue(L, -1);
            if (lua_rawget(L, visited) != LUA_TNIL) {
                lua_replace(L, -2);               /* seen before: its proxy */
            } else {
                lua_pop(L, 1);
                readonly_proxy(L, deep, visited, depth + 1);
            }
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, real);                  /* an existing key: safe during next */
        }
    }
    lua_createtable(L, 0, 5);             /* the proxy's metatable */
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, real);
    lua_pushcclosure(L, readonly_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushvalue(L, real);
    lua_pushcclosure(L, readonly_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, proxy);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &quarry_readonly_key);
    lua_pushvalue(L, proxy);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, real);
}

void quarry_make_readonly(lua_State *L, int deep) {
    if (!deep) { readonly_proxy(L, 0, 0, 0); return; }
    luaL_checkstack(L, 2, "read-only table");
    lua_newtable(L);                      /* visited: real table -> proxy */
    lua_insert(L, -2);
    readonly_proxy(L, 1, lua_gettop(L) - 1, 0);
    lua_remove(L, -2);
}

int quarry_push_readonly_target(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx) || !lua_checkstack(L, 3) || !is_readonly(L, idx)) return 0;
    if (!lua_getmetatable(L, idx)) return 0;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return 0; }
    return 1;
}

/* ---------- helpers ---------- */

/* luaL_error with printf formats (lua_pushfstring knows no %zu, %lld or %.3g). */
static int errorf(lua_State *L, const char *fmt, ...) {
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", message);
}

/* Calls upvalue 1 (the original library function) with all arguments and returns its
   results. The original runs called from C, so its argument errors would name the
   function '?' and carry no position: they are reworded as Lua says them for the
   script's own call (its name, position and method self), or with upvalue 2, the
   function's qualified name ("string.format"), when C called the wrapper. */
static int call_original(lua_State *L) {
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int status = lua_pcall(L, n, LUA_MULTRET, 0);
    if (status == LUA_OK) return lua_gettop(L);
    quarry_note_status(L, status);
    int arg, skip = 0;
    const char *msg = lua_tostring(L, -1);
    if (msg != NULL && sscanf(msg, "bad argument #%d to '?' (%n", &arg, &skip) == 1 && skip > 0) {
        lua_Debug ar;
        const char *name = lua_tostring(L, lua_upvalueindex(2));
        int method = 0;
        if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar)) {
            if (ar.name != NULL) name = ar.name;
            method = ar.namewhat != NULL && strcmp(ar.namewhat, "method") == 0;
        }
        if (name == NULL) name = "?";
        if (method) arg--;
        luaL_where(L, 1);
        if (method && arg == 0)
            lua_pushfstring(L, "calling '%s' on bad self (%s", name, msg + skip);
        else
            lua_pushfstring(L, "bad argument #%d to '%s' (%s", arg, name, msg + skip);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

/* Replaces lib.name with the wrapper, whose upvalues are the original and "lib.name". */
static void wrap_field(lua_State *L, int table, const char *lib, const char *name,
                       lua_CFunction wrapper) {
    lua_getfield(L, table, name);
    lua_pushfstring(L, "%s.%s", lib, name);
    lua_pushcclosure(L, wrapper, 2);
    lua_setfield(L, table, name);
}

/* ---------- base library ---------- */

static int finish_pcall(lua_State *L, int status, lua_KContext extra) {
    quarry_note_status(L, status);          /* a tripped limit passes straight through */
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sandbox_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
    return finish_pcall(L, status, 0);
}

/* The message handler of xpcall: skips the script's handler once a limit tripped
   (the hook raised, so the handler would run with hooks off). */
static int guarded_handler(lua_State *L) {
    if (quarry_sb(L)->trip != QUARRY_TRIP_NONE) return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sandbox_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);                  /* f, handler, true, f, args... */
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, status, 2);
}

static int sandbox_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_settop(L, 2);
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc is not allowed in the sandbox "
                                 "(finalizers run outside the limits)");
        lua_pop(L, 1);
    }
    return call_original(L);
}

static int sandbox_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_readonly(L, 1)) return luaL_error(L, "rawset: this table is read-only");
    return call_original(L);
}

static int sandbox_collectgarbage(lua_State *L) {
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage: only \"count\" is available in the sandbox");
    int kb = lua_gc(L, LUA_GCCOUNT);
    int b = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)kb + ((lua_Number)b / 1024));
    return 1;
}

static void write_output(lua_State *L, const char *s, size_t len) {
    quarry_sandbox *sb = quarry_sb(L);
    if (len > sb->limits.output_bytes - sb->output_used || sb->output_used > sb->limits.output_bytes)
        quarry_trip_now(L, QUARRY_TRIP_OUTPUT, "sandbox limit: output limit of %zu bytes reached",
                        sb->limits.output_bytes);
    sb->output_used += len;
    if (sb->output) sb->output(sb->ctx, s, len);
}

/* Joins the string arguments at 1...n (with `sep` between them when given) into one
   string on top of the stack. Every argument is a string already, so nothing runs
   while the buffer is in use and its box stays on top for every buffer call. */
static void join_strings(lua_State *L, int n, const char *sep, const char *tail) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        size_t l;
        const char *s = lua_tolstring(L, i, &l);
        if (i > 1) luaL_addstring(&b, sep);
        luaL_addlstring(&b, s, l);
    }
    luaL_addstring(&b, tail);
    luaL_pushresult(&b);
}

/* Fails the output limit before any byte is written or joined. */
static void check_output_room(lua_State *L, size_t len) {
    quarry_sandbox *sb = quarry_sb(L);
    if (sb->output_used > sb->limits.output_bytes || len > sb->limits.output_bytes - sb->output_used)
        quarry_trip_now(L, QUARRY_TRIP_OUTPUT, "sandbox limit: output limit of %zu bytes reached",
                        sb->limits.output_bytes);
}

/* print: every argument is converted first (its __tostring may run Lua code, allocate,
   or fail; no buffer exists yet), replaced by its string, and only then joined. */
static int sandbox_print(lua_State *L) {
    int n = lua_gettop(L);
    size_t total = n > 0 ? (size_t)n : 1;     /* the tabs and the newline */
    for (int i = 1; i <= n; i++) {
        size_t l;
        luaL_tolstring(L, i, &l);
        lua_replace(L, i);
        total += l;
        check_output_room(L, total);
    }
    check_output_room(L, total);
    join_strings(L, n, "\t", "\n");
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    write_output(L, s, len);
    return 0;
}

int quarry_io_write(lua_State *L) {
    int n = lua_gettop(L);
    size_t total = 0;
    for (int i = 1; i <= n; i++) {
        if (lua_type(L, i) != LUA_TSTRING && lua_type(L, i) != LUA_TNUMBER)
            return luaL_typeerror(L, i, "string or number");
        size_t l;
        lua_tolstring(L, i, &l);              /* numbers become strings in place */
        total += l;
        check_output_room(L, total);
    }
    if (total == 0) return 0;
    join_strings(L, n, "", "");
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    write_output(L, s, len);
    return 0;
}

static int sandbox_warn(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checkstring(L, 1);
    for (int i = 2; i <= n; i++) luaL_checkstring(L, i);
    if (n == 1 && lua_tostring(L, 1)[0] == '@') return 0;   /* control messages: ignored */
    lua_pushliteral(L, "Lua warning: ");
    lua_insert(L, 1);
    lua_pushliteral(L, "\n");
    lua_concat(L, n + 2);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    write_output(L, s, len);
    return 0;
}

/* load: text only, bounded source, sandbox globals unless an env is given. */
static int sandbox_load(lua_State *L) {
    int nargs = lua_gettop(L);          /* an env is given when there is a 4th argument */
    quarry_sandbox *sb = quarry_sb(L);
    size_t cap = sb->limits.load_source_bytes;
    const char *mode = luaL_optstring(L, 3, "bt");
    if (strchr(mode, 't') == NULL)
        return luaL_error(L, "load: only text chunks are allowed in the sandbox");
    const char *name;
    if (lua_type(L, 1) == LUA_TSTRING) {
        name = luaL_optstring(L, 2, lua_tostring(L, 1));
        if (lua_rawlen(L, 1) > cap)
            return errorf(L, "load: source of %zu bytes exceeds the limit of %zu bytes",
                              (size_t)lua_rawlen(L, 1), cap);
        lua_pushvalue(L, 1);
    } else {
        luaL_checktype(L, 1, LUA_TFUNCTION);
        name = luaL_optstring(L, 2, "=(load)");
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        size_t total = 0;
        for (;;) {
            lua_pushvalue(L, 1);
            lua_call(L, 0, 1);
            if (lua_isnil(L, -1)) { lua_pop(L, 1); break; }
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "load: reader function must return a string");
            size_t l = lua_rawlen(L, -1);
            if (l == 0) { lua_pop(L, 1); break; }
            total += l;
            if (total > cap)
                return errorf(L, "load: source exceeds the limit of %zu bytes", cap);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
    }
    size_t len;
    const char *src = lua_tolstring(L, -1, &len);
    /* compiling is one C call: charge it by the source size (and read the clock) */
    quarry_charge_steps(L, (int64_t)(len / 8) + 1);
    int status = luaL_loadbufferx(L, src, len, name, "t");
    if (status != LUA_OK) {
        quarry_note_status(L, status);
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (nargs >= 4) lua_pushvalue(L, 4);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    return 1;
}

/* ---------- string ---------- */

static int sandbox_rep(lua_State *L) {
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0) {
        quarry_sandbox *sb = quarry_sb(L);
        double bytes = (double)n * (double)(l + lsep);
        if (bytes > (double)sb->limits.memory_bytes)   /* a memory limit like any other: ends the run */
            quarry_trip_now(L, QUARRY_TRIP_MEMORY,
                            "sandbox limit: memory cap of %zu bytes reached (string.rep would make %.0f bytes)",
                            sb->limits.memory_bytes, bytes);
        if ((double)n > (double)sb->limits.range_items && l + lsep < 16)
            return errorf(L, "string.rep: %lld repetitions exceed the limit of %lld",
                              (long long)n, (long long)sb->limits.range_items);
    }
    return call_original(L);
}

/* string.find, match, gmatch and gsub are our own step-counted matcher: see
   sandbox_pattern.c. */

/* ---------- table ----------
   Every length is read once (a __len may answer differently each time), checked
   against the range limit, charged to the budget, and then the work runs over exactly
   that range: insert, remove and sort are our own code; concat and unpack get the
   checked bounds explicitly so the original never reads the length itself. */

static void check_range(lua_State *L, const char *fname, lua_Integer first, lua_Integer last) {
    if (last < first) return;
    quarry_sandbox *sb = quarry_sb(L);
    double count = (double)last - (double)first + 1;
    if (count > (double)sb->limits.range_items)
        errorf(L, "table.%s: range of %.0f items exceeds the limit of %lld",
                   fname, count, (long long)sb->limits.range_items);
    quarry_charge_steps(L, (int64_t)count);
}

/* What lstrlib's checktab accepts: a table, or a value whose metatable has the
   metamethods the function uses (__index to read, __newindex to write, __len). */
#define TAB_R 1
#define TAB_W 2
#define TAB_L 4
static void check_table(lua_State *L, int arg, int what) {
    static const char *const needed[3] = { "__index", "__newindex", "__len" };
    if (lua_type(L, arg) == LUA_TTABLE) return;
    for (int k = 0; k < 3; k++) {
        if (!(what & (1 << k))) continue;
        if (luaL_getmetafield(L, arg, needed[k]) == LUA_TNIL) luaL_checktype(L, arg, LUA_TTABLE);
        lua_pop(L, 1);
    }
}

static lua_Integer table_length(lua_State *L, int what) {
    check_table(L, 1, what | TAB_L);
    return luaL_len(L, 1);
}

/* table.concat as in Lua 5.4, with the length read once, the range bounded and the
   bytes charged. Each element is read (lua_geti may run __index) right above the
   buffer's box and taken from the top at once. */
static int sandbox_concat(lua_State *L) {
    lua_Integer last = table_length(L, TAB_R);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    check_range(L, "concat", i, last);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (; i <= last; i++) {
        lua_geti(L, 1, i);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "invalid value (%s) at index %I in table for 'concat'",
                              luaL_typename(L, -1), (LUAI_UACINT)i);
        quarry_charge_steps(L, (int64_t)((lua_rawlen(L, -1) + lsep) / 64));
        luaL_addvalue(&b);
        if (i < last) luaL_addlstring(&b, sep, lsep);
        if (i == LUA_MAXINTEGER) break;
    }
    luaL_pushresult(&b);
    return 1;
}

static int sandbox_unpack(lua_State *L) {
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer j = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
    check_range(L, "unpack", i, j);
    lua_settop(L, 1);
    lua_pushinteger(L, i);
    lua_pushinteger(L, j);
    return call_original(L);
}

static int sandbox_move(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    check_range(L, "move", f, e);
    return call_original(L);
}

/* table.insert as in Lua 5.4, with the length read once and the shift bounded. */
static int sandbox_insert(lua_State *L) {
    lua_Integer e = table_length(L, TAB_R | TAB_W);
    e = (lua_Integer)((lua_Unsigned)e + 1u);      /* the first empty slot */
    lua_Integer pos;
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        check_range(L, "insert", pos, e);
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

/* table.remove as in Lua 5.4, with the length read once and the shift bounded. */
static int sandbox_remove(lua_State *L) {
    lua_Integer size = table_length(L, TAB_R | TAB_W);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    check_range(L, "remove", pos, size);
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

/* table.sort: our own merge sort. The elements are read once into a work table, sorted
   there, and written back once. Each comparison is charged to the budget (strings by
   the bytes a comparison may scan), so sorting many references to one long string
   stops at the instruction budget or the deadline instead of running for hours.
   Like Lua's sort it is not stable; an order function that is not a strict weak
   order gives an unspecified permutation (never an access outside 1..#t). */
typedef struct sorter { lua_State *L; int work, aux, comp; } sorter;

/* Work and aux tables hold the elements at 1..n; values are pushed with rawgeti. */
static int sort_less(sorter *st, int ia, int ib) {   /* stack: a at ia, b at ib */
    lua_State *L = st->L;
    int64_t units = 1;
    if (lua_type(L, ia) == LUA_TSTRING && lua_type(L, ib) == LUA_TSTRING) {
        size_t la = lua_rawlen(L, ia), lb = lua_rawlen(L, ib);
        units += (int64_t)((la < lb ? la : lb) / 16);
    }
    quarry_charge_steps(L, units);
    if (st->comp) {
        lua_pushvalue(L, st->comp);
        lua_pushvalue(L, ia);
        lua_pushvalue(L, ib);
        lua_call(L, 2, 1);
        int r = lua_toboolean(L, -1);
        lua_pop(L, 1);
        return r;
    }
    return lua_compare(L, ia, ib, LUA_OPLT);
}

/* Sorts work[lo..hi] using aux[1..] for the left half of each merge. */
static void merge_sort(sorter *st, lua_Integer lo, lua_Integer hi) {
    lua_State *L = st->L;
    if (hi - lo < 8) {                                  /* insertion sort */
        for (lua_Integer i = lo + 1; i <= hi; i++) {
            lua_rawgeti(L, st->work, i);                /* the element to place */
            lua_Integer j = i - 1;
            for (; j >= lo; j--) {
                lua_rawgeti(L, st->work, j);
                int less = sort_less(st, lua_gettop(L) - 1, lua_gettop(L));
                if (!less) { lua_pop(L, 1); break; }
                lua_rawseti(L, st->work, j + 1);        /* shift work[j] up */
            }
            lua_rawseti(L, st->work, j + 1);
        }
        return;
    }
    lua_Integer mid = lo + (hi - lo) / 2;
    merge_sort(st, lo, mid);
    merge_sort(st, mid + 1, hi);
    lua_rawgeti(L, st->work, mid + 1);
    lua_rawgeti(L, st->work, mid);
    int ordered = !sort_less(st, lua_gettop(L) - 1, lua_gettop(L));
    lua_pop(L, 2);
    if (ordered) return;
    lua_Integer nl = mid - lo + 1;
    for (lua_Integer k = 0; k < nl; k++) {
        lua_rawgeti(L, st->work, lo + k);
        lua_rawseti(L, st->aux, k + 1);
    }
    lua_Integer i = 1, j = mid + 1, out = lo;
    while (i <= nl && j <= hi) {
        lua_rawgeti(L, st->work, j);
        lua_rawgeti(L, st->aux, i);
        if (sort_less(st, lua_gettop(L) - 1, lua_gettop(L))) {   /* right < left */
            lua_pop(L, 1);
            j++;
        } else {
            lua_remove(L, -2);
            i++;
        }
        lua_rawseti(L, st->work, out++);
    }
    while (i <= nl) {
        lua_rawgeti(L, st->aux, i++);
        lua_rawseti(L, st->work, out++);
    }
}

static int sandbox_sort(lua_State *L) {
    lua_Integer n = table_length(L, TAB_R | TAB_W);
    if (n > 1) {
        luaL_argcheck(L, n < INT_MAX, 1, "array too big");
        if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2);
        check_range(L, "sort", 1, n);
        sorter st = { L, 3, 4, lua_isnil(L, 2) ? 0 : 2 };
        lua_createtable(L, (int)n, 0);
        lua_createtable(L, (int)(n / 2 + 1), 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, 1, i);
            lua_rawseti(L, st.work, i);
        }
        merge_sort(&st, 1, n);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, st.work, i);
            lua_seti(L, 1, i);
        }
    }
    return 0;
}

/* ---------- linear-time library functions ----------
   Functions whose work is linear in their string arguments (upper, lower, reverse,
   sub, byte, format, utf8.len/offset/codepoint, pack/unpack) run as one call event
   for the hooks: charge their bytes first, so the budget bounds a loop of them and the
   clock is read while they repeat (a call over 64 MiB would otherwise count as one). */
static int charged_by_length(lua_State *L) {
    int n = lua_gettop(L);
    size_t bytes = 0;
    for (int i = 1; i <= n; i++)
        if (lua_type(L, i) == LUA_TSTRING) bytes += lua_rawlen(L, i);
    quarry_charge_steps(L, (int64_t)(bytes / 64));
    return call_original(L);
}

/* os.date: each conversion of its format calls strftime, so it is charged a unit per
   4 format bytes (a 4 MiB format of "%%" takes ~0.1 s). */
static int sandbox_date(lua_State *L) {
    size_t len = lua_type(L, 1) == LUA_TSTRING ? lua_rawlen(L, 1) : 0;
    quarry_charge_steps(L, (int64_t)(len / 4));
    return call_original(L);
}

/* ---------- utf8 ----------
   Lua 5.4.4's utf8.codes skips stray continuation bytes silently (a bug fixed in 5.4.6):
   the sandbox refuses a string that starts with one, and fails the step whose
   character is followed by one, as 5.4.6 does. */

static int is_continuation(const char *s, size_t len, size_t i) {
    return i < len && ((unsigned char)s[i] & 0xC0) == 0x80;
}

static int codes_step(lua_State *L) {     /* upvalue 1: the original iterator */
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    /* The original skips every continuation byte from the position it is given before
       decoding: a character has at most 3, so more is a stray run (and a loop over a
       long one would be uncharged work per call). */
    lua_Integer at = luaL_optinteger(L, 2, 0);
    if (at >= 0 && (lua_Unsigned)at < len) {
        size_t run = 0;
        while (run < 4 && is_continuation(s, len, (size_t)at + run)) run++;
        if (run > 3) return luaL_error(L, "invalid UTF-8 code");
    }
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 2);
    if (lua_isnil(L, 1)) return 0;
    lua_Integer pos = lua_tointeger(L, 1);
    if (pos >= 1 && (size_t)pos <= len) {
        unsigned char lead = (unsigned char)s[pos - 1];
        size_t n = 1;
        if (lead >= 0xC0) while (n < 8 && (lead << n) & 0x80) n++;
        if (is_continuation(s, len, (size_t)pos - 1 + n))
            return luaL_error(L, "invalid UTF-8 code");
    }
    return 2;
}

static int sandbox_codes(lua_State *L) {   /* upvalue 1: the original utf8.codes */
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, !is_continuation(s, len, 0), 1, "invalid UTF-8 code");
    call_original(L);
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, codes_step, 1);
    lua_replace(L, -4);
    return 3;
}

/* ---------- coroutine ---------- */

static int sandbox_create(lua_State *L) {
    /* A new coroutine's instruction count starts afresh: charge one count period so a
       tree of short coroutines cannot run for free. */
    quarry_charge(L, 1000);
    return call_original(L);
}

static int awaiting_host(lua_State *L, lua_State *co) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, "quarry.awaiting") != LUA_TTABLE) { lua_pop(L, 1); return 0; }
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    int yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return yes;
}

static int resume_step(lua_State *L, lua_State *co, int base, int wrap, lua_KFunction k) {
    int narg = lua_gettop(L) - base;
    int st = lua_status(co);
    lua_Debug ar;
    if (co == L || (st == LUA_OK && lua_getstack(co, 0, &ar) > 0))
        return luaL_error(L, "cannot resume non-suspended coroutine");
    if ((st == LUA_OK && lua_gettop(co) == 0) || (st != LUA_OK && st != LUA_YIELD))
        return luaL_error(L, "cannot resume dead coroutine");
    if (!lua_checkstack(co, narg)) return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, narg);
    int nres = 0;
    int status = lua_resume(co, L, narg, &nres);
    if (status == LUA_YIELD && nres >= 1 && lua_touserdata(co, -nres) == &quarry_suspend_marker) {
        if (!lua_isyieldable(L)) {
            lua_pop(co, nres);
            return luaL_error(L, "a host call inside this coroutine cannot wait: the coroutine "
                                 "was resumed where Lua cannot yield (a metamethod, a sort "
                                 "comparator or a gsub callback)");
        }
        if (!lua_checkstack(L, nres)) return luaL_error(L, "too many values to pass through");
        lua_xmove(co, L, nres);
        /* L's continuation now belongs to the scheduler too: until the host call
           returns (k runs), no script code may resume, wrap or close L. */
        quarry_set_awaiting(L, 1);
        return lua_yieldk(L, nres, (lua_KContext)base, k);   /* pass through to the scheduler */
    }
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            return luaL_error(L, "too many results to resume");
        }
        if (!wrap) lua_pushboolean(L, 1);
        lua_xmove(co, L, nres);
        return nres + (wrap ? 0 : 1);
    }
    lua_xmove(co, L, 1);
    quarry_note_status(L, status);
    if (wrap) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

/* A coroutine waiting for a host call is resumed only by the scheduler (through the
   pass-through of whoever resumed it first), never directly by another script coroutine. */
static int check_not_awaiting(lua_State *L, lua_State *co) {
    if (awaiting_host(L, co))
        return luaL_error(L, "cannot resume a coroutine that is waiting for a host call");
    return 0;
}

static int resume_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    quarry_set_awaiting(L, 0);       /* the scheduler resumed the pass-through */
    return resume_step(L, lua_tothread(L, 1), (int)ctx, 0, resume_k);
}

static int sandbox_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    check_not_awaiting(L, co);
    return resume_step(L, co, 1, 0, resume_k);
}

static int wrap_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    quarry_set_awaiting(L, 0);
    return resume_step(L, lua_tothread(L, lua_upvalueindex(1)), (int)ctx, 1, wrap_k);
}

static int wrapped_call(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    check_not_awaiting(L, co);
    return resume_step(L, co, 0, 1, wrap_k);
}

static int sandbox_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    quarry_charge(L, 1000);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrapped_call, 1);
    return 1;
}

/* Scheduler coroutines stand for the script's main body: yielding there is the usual
   "outside a coroutine" error, not a way to end the run early. */
static int is_host_thread(lua_State *L, lua_State *co) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, "quarry.hostthreads") != LUA_TTABLE) { lua_pop(L, 1); return 0; }
    lua_pushthread(co);
    if (co != L) lua_xmove(co, L, 1);
    int yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return yes;
}

static int sandbox_yield(lua_State *L) {
    if (is_host_thread(L, L)) return luaL_error(L, "attempt to yield from outside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

static int sandbox_isyieldable(lua_State *L) {
    lua_State *co = lua_isnone(L, 1) ? L : lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    lua_pushboolean(L, lua_isyieldable(co) && !is_host_thread(L, co));
    return 1;
}

static int sandbox_close(lua_State *L) {
    quarry_sandbox *sb = quarry_sb(L);
    if (sb->close_depth >= sb->limits.close_depth)
        return luaL_error(L, "coroutine.close: nesting deeper than %d is not allowed in the sandbox",
                          sb->limits.close_depth);
    lua_State *co = lua_tothread(L, 1);
    if (co != NULL && awaiting_host(L, co))
        return luaL_error(L, "cannot close a coroutine that is waiting for a host call");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    sb->close_depth++;
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    sb->close_depth--;
    if (status != LUA_OK) {
        quarry_note_status(L, status);
        return lua_error(L);
    }
    return lua_gettop(L);
}

/* ---------- assembly ---------- */

static void require_lib(lua_State *L, const char *name, lua_CFunction open) {
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}

static void remove_global(lua_State *L, const char *name) {
    lua_pushnil(L);
    lua_setglobal(L, name);
}

static void replace_global(lua_State *L, const char *name, lua_CFunction f, int keep_original) {
    if (keep_original) {
        lua_getglobal(L, name);
        lua_pushstring(L, name);
        lua_pushcclosure(L, f, 2);
    } else {
        lua_pushcfunction(L, f);
    }
    lua_setglobal(L, name);
}

static void freeze_global(lua_State *L, const char *name) {
    lua_getglobal(L, name);
    quarry_make_readonly(L, 0);
    lua_setglobal(L, name);
}

int quarry_open_bridge(lua_State *L);

int quarry_open_sandbox_libs(lua_State *L) {
    quarry_open_bridge(L);
    /* registry: read-only proxies (weak keys), coroutines awaiting the host (weak keys) */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &quarry_readonly_key);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "quarry.awaiting");
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "quarry.hostthreads");

    require_lib(L, LUA_GNAME, luaopen_base);
    require_lib(L, LUA_COLIBNAME, luaopen_coroutine);
    require_lib(L, LUA_TABLIBNAME, luaopen_table);
    require_lib(L, LUA_STRLIBNAME, luaopen_string);
    require_lib(L, LUA_MATHLIBNAME, luaopen_math);
    require_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);

    /* os: time, clock and date only (the full library never reaches the globals) */
    luaopen_os(L);
    lua_createtable(L, 0, 3);
    lua_getfield(L, -2, "time");  lua_setfield(L, -2, "time");
    lua_getfield(L, -2, "clock"); lua_setfield(L, -2, "clock");
    lua_getfield(L, -2, "date");  lua_pushcclosure(L, sandbox_date, 1);
    lua_setfield(L, -2, "date");
    lua_setglobal(L, "os");
    lua_pop(L, 1);

    remove_global(L, "dofile");
    remove_global(L, "loadfile");
    remove_global(L, "require");
    replace_global(L, "load", sandbox_load, 0);
    replace_global(L, "print", sandbox_print, 0);
    replace_global(L, "warn", sandbox_warn, 0);
    replace_global(L, "collectgarbage", sandbox_collectgarbage, 0);
    replace_global(L, "pcall", sandbox_pcall, 0);
    replace_global(L, "xpcall", sandbox_xpcall, 0);
    replace_global(L, "setmetatable", sandbox_setmetatable, 1);
    replace_global(L, "rawset", sandbox_rawset, 1);
    replace_global(L, "tonumber", charged_by_length, 1);   /* O(string) */

    lua_getglobal(L, LUA_STRLIBNAME);
    int s = lua_gettop(L);
    lua_pushnil(L);
    lua_setfield(L, s, "dump");
    wrap_field(L, s, "string", "rep", sandbox_rep);
    quarry_install_patterns(L, s);
    {
        static const char *const linear[] = { "upper", "lower", "reverse", "sub", "byte",
                                              "format", "pack", "unpack", "packsize", NULL };
        for (int i = 0; linear[i] != NULL; i++) wrap_field(L, s, "string", linear[i], charged_by_length);
    }
    /* the string metatable: __index is the wrapped library, the metatable is locked */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, s);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 3);

    lua_getglobal(L, LUA_TABLIBNAME);
    int t = lua_gettop(L);
    wrap_field(L, t, "table", "concat", sandbox_concat);
    wrap_field(L, t, "table", "unpack", sandbox_unpack);
    wrap_field(L, t, "table", "move", sandbox_move);
    wrap_field(L, t, "table", "insert", sandbox_insert);
    wrap_field(L, t, "table", "remove", sandbox_remove);
    wrap_field(L, t, "table", "sort", sandbox_sort);
    lua_pop(L, 1);

    lua_getglobal(L, LUA_UTF8LIBNAME);
    wrap_field(L, lua_gettop(L), "utf8", "codes", sandbox_codes);
    wrap_field(L, lua_gettop(L), "utf8", "len", charged_by_length);
    wrap_field(L, lua_gettop(L), "utf8", "offset", charged_by_length);
    wrap_field(L, lua_gettop(L), "utf8", "codepoint", charged_by_length);
    lua_pop(L, 1);

    lua_getglobal(L, LUA_COLIBNAME);
    int c = lua_gettop(L);
    wrap_field(L, c, "coroutine", "create", sandbox_create);
    wrap_field(L, c, "coroutine", "close", sandbox_close);
    lua_pushcfunction(L, sandbox_resume);
    lua_setfield(L, c, "resume");
    lua_pushcfunction(L, sandbox_wrap);
    lua_setfield(L, c, "wrap");
    lua_pushcfunction(L, sandbox_yield);
    lua_setfield(L, c, "yield");
    lua_pushcfunction(L, sandbox_isyieldable);
    lua_setfield(L, c, "isyieldable");
    lua_pop(L, 1);

    freeze_global(L, LUA_STRLIBNAME);
    freeze_global(L, LUA_TABLIBNAME);
    freeze_global(L, LUA_MATHLIBNAME);
    freeze_global(L, LUA_UTF8LIBNAME);
    freeze_global(L, LUA_COLIBNAME);
    freeze_global(L, "os");
    return 0;
}
