/* The safe library subset: which functions scripts get, and the wrappers that bound
   the C functions no hook can interrupt. */
#include "sandbox_internal.h"
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

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

/* Replaces the table on top with an empty proxy whose locked metatable reads from it.
   The real table is unreachable from Lua; `rawset` refuses proxies (see sandbox_rawset).
   With deep, nested tables are made read-only first. */
void quarry_make_readonly(lua_State *L, int deep) {
    luaL_checkstack(L, 8, "read-only table");
    int real = lua_gettop(L);
    if (deep) {
        lua_pushnil(L);
        while (lua_next(L, real)) {
            if (lua_type(L, -1) == LUA_TTABLE) {
                quarry_make_readonly(L, deep);
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, real);
            } else {
                lua_pop(L, 1);
            }
        }
    }
    lua_newtable(L);                      /* proxy */
    lua_createtable(L, 0, 5);             /* its metatable */
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
    lua_setmetatable(L, -2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &quarry_readonly_key);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, real);
}

static int is_readonly(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &quarry_readonly_key);
    lua_pushvalue(L, idx);
    int yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return yes;
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

/* Calls upvalue 1 (the original library function) with all arguments. */
static int call_original(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void wrap_field(lua_State *L, int table, const char *name, lua_CFunction wrapper) {
    lua_getfield(L, table, name);
    lua_pushcclosure(L, wrapper, 1);
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

static int sandbox_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        size_t l;
        const char *s = luaL_tolstring(L, i, &l);
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_addvalue(&b);
        (void)s; (void)l;
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    write_output(L, s, len);
    return 0;
}

int quarry_io_write(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (lua_type(L, i) != LUA_TSTRING && lua_type(L, i) != LUA_TNUMBER)
            return luaL_typeerror(L, i, "string or number");
        size_t l;
        lua_tolstring(L, i, &l);
        lua_pushvalue(L, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len > 0) write_output(L, s, len);
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
    int status = luaL_loadbufferx(L, src, len, name, "t");
    if (status != LUA_OK) {
        quarry_note_status(L, status);
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (!lua_isnone(L, 4)) lua_pushvalue(L, 4);
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
        if (bytes > (double)sb->limits.memory_bytes)
            return errorf(L, "string.rep: result of %.0f bytes exceeds the memory limit", bytes);
        if ((double)n > (double)sb->limits.range_items && l + lsep < 16)
            return errorf(L, "string.rep: %lld repetitions exceed the limit of %lld",
                              (long long)n, (long long)sb->limits.range_items);
    }
    return call_original(L);
}

/* Skips one single-character pattern item starting at p[i]; returns the index after it. */
static size_t skip_item(const char *p, size_t lp, size_t i) {
    if (p[i] == '%') return i + 2 <= lp ? i + 2 : lp;
    if (p[i] == '[') {
        size_t j = i + 1;
        if (j < lp && p[j] == '^') j++;
        do {
            if (j >= lp) return lp;
            if (p[j] == '%') j++;
            j++;
        } while (j < lp && p[j] != ']');
        return j < lp ? j + 1 : lp;
    }
    return i + 1;
}

/* Whether byte c is in Lua pattern class %cl (upper case = complement). */
static int class_has(int c, int cl) {
    int res;
    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    default: return cl == c;
    }
    if (isupper(cl)) res = !res;
    return res != 0;
}

/* Whether byte c matches the single-character item p[0..end) ('.', %x, [set] or a literal). */
static int item_has(int c, const char *p, size_t len) {
    if (p[0] == '.') return 1;
    if (p[0] == '%' && len >= 2) return class_has(c, (unsigned char)p[1]);
    if (p[0] != '[' || len < 2) return (unsigned char)p[0] == c;
    size_t i = 1, last = len - 1;            /* p[last] is the closing ']' */
    int negate = 0;
    if (p[i] == '^') { negate = 1; i++; }
    int found = 0;
    while (i < last) {
        if (p[i] == '%' && i + 1 < last) {
            if (class_has(c, (unsigned char)p[i + 1])) found = 1;
            i += 2;
        } else if (i + 2 < last && p[i + 1] == '-') {
            if ((unsigned char)p[i] <= c && c <= (unsigned char)p[i + 2]) found = 1;
            i += 3;
        } else {
            if ((unsigned char)p[i] == c) found = 1;
            i++;
        }
    }
    return negate ? !found : found;
}

/* The longest run of subject bytes the item matches: how far a quantifier over it can
   expand, so how many lengths backtracking can retry at one position. */
static double longest_run(const char *s, size_t n, const char *p, size_t len) {
    if (p[0] == '.') return (double)n;
    size_t best = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        if (item_has((unsigned char)s[i], p, len)) { if (++run > best) best = run; }
        else run = 0;
    }
    return (double)best;
}

/* Whether only ')' (and a final '$') follow position i: nothing left to backtrack into. */
static int only_closers_after(const char *p, size_t lp, size_t i) {
    for (; i < lp; i++) {
        if (p[i] == ')') continue;
        if (p[i] == '$' && i + 1 == lp) continue;
        return 0;
    }
    return 1;
}

/* A conservative worst-case step estimate for matching pattern p against subject s:
   a quantified item followed by more pattern may retry as many lengths as the longest
   run of subject bytes it matches; %b and back-references scan up to the whole subject;
   '?' doubles the branches; an unanchored search tries every start. Catastrophic
   backtracking such as ("a"):rep(500):find(".-.-.-b") is estimated at n^4, while
   ("k=v; "):rep(1e5):gmatch("(%w+)=(%w+)") stays linear. */
static double pattern_cost(const char *s, size_t n, const char *p, size_t lp, int plain) {
    double f = (double)n + 1;
    if (plain) return f * ((double)lp + 1);
    double cost = 1;
    size_t i = 0;
    int anchored = 0;
    if (lp > 0 && p[0] == '^') { anchored = 1; i = 1; }
    while (i < lp) {
        char c = p[i];
        if (c == '(' || c == ')') { i++; continue; }
        if (c == '$' && i + 1 == lp) { i++; continue; }
        if (c == '%' && i + 1 < lp) {
            char d = p[i + 1];
            if (d == 'b') { cost *= f; i += 4; continue; }
            if (d == 'f') { i = skip_item(p, lp, i + 2); continue; }
            if (d >= '0' && d <= '9') { cost *= f; i += 2; continue; }
        }
        size_t end = skip_item(p, lp, i);
        cost *= 1.01;  /* each item costs a little even unquantified */
        if (end < lp && (p[end] == '*' || p[end] == '+' || p[end] == '-')) {
            if (!only_closers_after(p, lp, end + 1)) cost *= longest_run(s, n, p + i, end - i) + 1;
            i = end + 1;
        } else if (end < lp && p[end] == '?') {
            cost *= 2;
            i = end + 1;
        } else {
            i = end;
        }
    }
    return anchored ? cost * ((double)lp + 1) : cost * f * ((double)lp + 1);
}

static int check_pattern(lua_State *L, const char *fname, int plain_arg) {
    size_t ls, lp;
    const char *subject = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int plain = plain_arg && lua_toboolean(L, 4);
    quarry_sandbox *sb = quarry_sb(L);
    /* The estimate scans the subject and the match runs in C: charge the budget for
       long subjects so a loop of calls cannot run free between hook events. */
    if (ls > 4096) quarry_charge(L, (int64_t)(ls / 32));
    double cost = pattern_cost(subject, ls, p, lp, plain);
    if (cost > sb->limits.pattern_cost)
        return errorf(L, "string.%s: pattern too costly for a subject of %zu bytes "
                             "(worst case ~%.3g steps, limit %.3g); use a simpler pattern "
                             "or a shorter subject", fname, ls, cost, sb->limits.pattern_cost);
    return 0;
}

static int sandbox_find(lua_State *L) { check_pattern(L, "find", 1); return call_original(L); }
static int sandbox_match(lua_State *L) { check_pattern(L, "match", 0); return call_original(L); }
static int sandbox_gmatch(lua_State *L) { check_pattern(L, "gmatch", 0); return call_original(L); }
static int sandbox_gsub(lua_State *L) { check_pattern(L, "gsub", 0); return call_original(L); }

/* ---------- table ---------- */

static void check_range(lua_State *L, const char *fname, lua_Integer first, lua_Integer last) {
    if (last < first) return;
    quarry_sandbox *sb = quarry_sb(L);
    double count = (double)last - (double)first + 1;
    if (count > (double)sb->limits.range_items)
        errorf(L, "table.%s: range of %.0f items exceeds the limit of %lld",
                   fname, count, (long long)sb->limits.range_items);
}

static int sandbox_concat(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer i = luaL_optinteger(L, 3, 1);
        lua_Integer j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
        check_range(L, "concat", i, j);
    }
    return call_original(L);
}

static int sandbox_unpack(lua_State *L) {
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer j = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
    check_range(L, "unpack", i, j);
    return call_original(L);
}

static int sandbox_move(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    check_range(L, "move", f, e);
    return call_original(L);
}

static int sandbox_insert(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE && lua_gettop(L) == 3) {
        lua_Integer n = luaL_len(L, 1);
        lua_Integer pos = luaL_checkinteger(L, 2);
        check_range(L, "insert", pos, n);
    }
    return call_original(L);
}

static int sandbox_remove(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, 1);
        lua_Integer pos = luaL_optinteger(L, 2, n);
        check_range(L, "remove", pos, n);
    }
    return call_original(L);
}

static int sandbox_sort(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) check_range(L, "sort", 1, luaL_len(L, 1));
    return call_original(L);
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
        lua_pushcclosure(L, f, 1);
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
    lua_getfield(L, -2, "date");  lua_setfield(L, -2, "date");
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

    lua_getglobal(L, LUA_STRLIBNAME);
    int s = lua_gettop(L);
    lua_pushnil(L);
    lua_setfield(L, s, "dump");
    wrap_field(L, s, "rep", sandbox_rep);
    wrap_field(L, s, "find", sandbox_find);
    wrap_field(L, s, "match", sandbox_match);
    wrap_field(L, s, "gmatch", sandbox_gmatch);
    wrap_field(L, s, "gsub", sandbox_gsub);
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
    wrap_field(L, t, "concat", sandbox_concat);
    wrap_field(L, t, "unpack", sandbox_unpack);
    wrap_field(L, t, "move", sandbox_move);
    wrap_field(L, t, "insert", sandbox_insert);
    wrap_field(L, t, "remove", sandbox_remove);
    wrap_field(L, t, "sort", sandbox_sort);
    lua_pop(L, 1);

    lua_getglobal(L, LUA_COLIBNAME);
    int c = lua_gettop(L);
    wrap_field(L, c, "create", sandbox_create);
    wrap_field(L, c, "close", sandbox_close);
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
