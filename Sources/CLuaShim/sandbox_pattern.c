/* string.find, match, gmatch and gsub with our own matcher for the Lua 5.4 pattern
   language. The library's matcher cannot be interrupted and its cost cannot be
   estimated safely (a failing '$' makes "a*$" quadratic, backtracking makes ".-.-.-b"
   grow as n^4), so every step this matcher takes is counted: steps are charged to the
   instruction budget, the deadline and the interrupt flag are checked while it runs,
   and one call may take at most `pattern_cost` steps. The language is the manual's
   (section 6.4.1): classes, sets, the quantifiers * + - ?, anchors, captures including
   position captures, %b, %f and back-references, with Lua 5.4's error messages. */
#include "sandbox_internal.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>

#define PM_MAX_CAPTURES 32      /* LUA_MAXCAPTURES */
#define PM_MAX_DEPTH 200        /* Lua's own limit on the matcher's recursion */
#define PM_OPEN (-1)            /* capture started, not closed */
#define PM_POSITION (-2)        /* position capture "()" */
#define PM_BATCH 256            /* steps counted locally before they are charged */

typedef struct pm_state {
    lua_State *L;
    const char *s0, *s_end;     /* subject */
    const char *p_end;          /* end of the pattern */
    int depth;
    int ncap;
    struct { const char *start; ptrdiff_t len; } cap[PM_MAX_CAPTURES];
    int64_t pending;            /* steps not yet charged */
    double steps;               /* steps of this call */
    double cap_steps;           /* most steps one call may take (0: no cap) */
    const char *fname;
} pm_state;

static void pm_init(pm_state *m, lua_State *L, const char *fname,
                    const char *s, size_t ls, const char *p, size_t lp) {
    quarry_sandbox *sb = quarry_sb(L);
    m->L = L;
    m->s0 = s;
    m->s_end = s + ls;
    m->p_end = p + lp;
    m->depth = 0;
    m->ncap = 0;
    m->pending = 0;
    m->steps = 0;
    m->cap_steps = sb != NULL && sb->limits.pattern_cost > 0 ? sb->limits.pattern_cost : 0;
    m->fname = fname;
}

/* Charges the pending steps; past the per-call cap the call fails with an error
   (a script may catch it and try a simpler pattern; the budget stays charged). */
static void pm_flush(pm_state *m) {
    int64_t n = m->pending;
    m->pending = 0;
    m->steps += (double)n;
    quarry_charge_steps(m->L, n);
    if (m->cap_steps > 0 && m->steps > m->cap_steps) {
        char message[200];
        snprintf(message, sizeof message,
                 "string.%s: pattern too costly: more than %.3g matching steps for a subject "
                 "of %zu bytes; use a simpler pattern or a shorter subject",
                 m->fname, m->cap_steps, (size_t)(m->s_end - m->s0));
        luaL_error(m->L, "%s", message);
    }
}

static inline void pm_step(pm_state *m, int64_t n) {
    m->pending += n;
    if (m->pending >= PM_BATCH) pm_flush(m);
}

/* ---------- single-character items ---------- */

/* Whether byte c is in class %cl (an upper-case letter is the complement; any other
   character stands for itself). */
static int pm_class(int c, int cl) {
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break;       /* deprecated in the manual, still in 5.4 */
    default: return cl == c;
    }
    if (isupper(cl)) yes = !yes;
    return yes != 0;
}

/* Whether byte c is in the set that opens at p ('[') and closes at close (']'). The
   first character after '[' or "[^" is always a member, even ']'; "x-y" is a range
   unless the '-' is last; %x is a class. */
static int pm_set(int c, const char *p, const char *close) {
    int member = 1;
    p++;
    if (*p == '^') { member = 0; p++; }
    for (; p < close; p++) {
        if (*p == '%') {
            p++;
            if (pm_class(c, (unsigned char)*p)) return member;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return member;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return member;
        }
    }
    return !member;
}

/* The end of the single-character item at p: after "%x", after a set's ']', or p + 1. */
static const char *pm_item_end(pm_state *m, const char *p) {
    if (*p == '%') {
        if (p + 1 >= m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p == '[') {
        const char *open = p;
        p++;
        if (p < m->p_end && *p == '^') p++;
        do {                                  /* the first member may be ']' */
            if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == '%' && p < m->p_end) p++;
        } while (p >= m->p_end || *p != ']');
        pm_step(m, (p - open) / 16);          /* the scan is as long as the set */
        return p + 1;
    }
    return p + 1;
}

/* Whether the subject byte at s matches the item p..ep. */
static int pm_single(pm_state *m, const char *s, const char *p, const char *ep) {
    if (s >= m->s_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return pm_class(c, (unsigned char)p[1]);
    case '[':
        pm_step(m, (ep - p) / 16);            /* a membership test scans the set */
        return pm_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* ---------- the matcher ---------- */

static const char *pm_match(pm_state *m, const char *s, const char *p);

/* Greedy: the longest run first, then shorter ones. */
static const char *pm_greedy(pm_state *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t n = 0;
    while (pm_single(m, s + n, p, ep)) { n++; pm_step(m, 1); }
    for (; n >= 0; n--) {
        const char *r = pm_match(m, s + n, ep + 1);
        if (r != NULL) return r;
    }
    return NULL;
}

/* Lazy: the shortest run first, then longer ones. */
static const char *pm_lazy(pm_state *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *r = pm_match(m, s, ep + 1);
        if (r != NULL) return r;
        if (!pm_single(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *pm_open_capture(pm_state *m, const char *s, const char *p, ptrdiff_t kind) {
    if (m->ncap >= PM_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->cap[m->ncap].start = s;
    m->cap[m->ncap].len = kind;
    m->ncap++;
    const char *r = pm_match(m, s, p);
    if (r == NULL) m->ncap--;
    return r;
}

static const char *pm_close_capture(pm_state *m, const char *s, const char *p) {
    int k = m->ncap - 1;
    while (k >= 0 && m->cap[k].len != PM_OPEN) k--;
    if (k < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[k].len = s - m->cap[k].start;
    const char *r = pm_match(m, s, p);
    if (r == NULL) m->cap[k].len = PM_OPEN;
    return r;
}

/* %bxy: a balanced run from x to its matching y. */
static const char *pm_balance(pm_state *m, const char *s, const char *p) {
    if (p + 1 >= m->p_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->s_end || *s != p[0]) return NULL;
    int open = 1;
    for (const char *q = s + 1; q < m->s_end; q++) {
        pm_step(m, 1);
        if (*q == p[1]) { if (--open == 0) return q + 1; }
        else if (*q == p[0]) open++;
    }
    return NULL;
}

/* %1-%9: the text of a closed capture again (a position capture never matches). */
static const char *pm_backref(pm_state *m, const char *s, int digit) {
    int k = digit - '1';
    if (k < 0 || k >= m->ncap || m->cap[k].len == PM_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", k + 1);
    ptrdiff_t len = m->cap[k].len;
    if (len < 0) return NULL;
    pm_step(m, 1 + len / 16);
    if (m->s_end - s >= len && memcmp(m->cap[k].start, s, (size_t)len) == 0) return s + len;
    return NULL;
}

/* Matches pattern p at subject position s; returns the end of the match or NULL. */
static const char *pm_match(pm_state *m, const char *s, const char *p) {
    if (++m->depth > PM_MAX_DEPTH) luaL_error(m->L, "pattern too complex");
    for (;;) {
        pm_step(m, 1);
        if (p >= m->p_end) break;
        if (*p == '(') {
            if (p + 1 < m->p_end && p[1] == ')') s = pm_open_capture(m, s, p + 2, PM_POSITION);
            else s = pm_open_capture(m, s, p + 1, PM_OPEN);
            break;
        }
        if (*p == ')') { s = pm_close_capture(m, s, p + 1); break; }
        if (*p == '$' && p + 1 == m->p_end) {
            if (s != m->s_end) s = NULL;
            break;
        }
        if (*p == '%' && p + 1 < m->p_end) {
            char d = p[1];
            if (d == 'b') {
                s = pm_balance(m, s, p + 2);
                if (s == NULL) break;
                p += 4;
                continue;
            }
            if (d == 'f') {
                p += 2;
                if (p >= m->p_end || *p != '[')
                    luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = pm_item_end(m, p);
                pm_step(m, (ep - p) / 8);     /* two membership tests */
                int before = s == m->s0 ? 0 : (unsigned char)s[-1];
                int here = s < m->s_end ? (unsigned char)*s : 0;
                if (pm_set(before, p, ep - 1) || !pm_set(here, p, ep - 1)) { s = NULL; break; }
                p = ep;
                continue;
            }
            if (d >= '0' && d <= '9') {
                s = pm_backref(m, s, d);
                if (s == NULL) break;
                p += 2;
                continue;
            }
        }
        /* a single-character item, maybe quantified */
        const char *ep = pm_item_end(m, p);
        int ok = pm_single(m, s, p, ep);
        char q = ep < m->p_end ? *ep : 0;
        if (q == '?') {
            const char *r;
            if (ok && (r = pm_match(m, s + 1, ep + 1)) != NULL) { s = r; break; }
            p = ep + 1;
            continue;
        }
        if (q == '+') { s = ok ? pm_greedy(m, s + 1, p, ep) : NULL; break; }
        if (q == '*') { s = pm_greedy(m, s, p, ep); break; }
        if (q == '-') { s = pm_lazy(m, s, p, ep); break; }
        if (!ok) { s = NULL; break; }
        s++;
        p = ep;
    }
    m->depth--;
    return s;
}

/* ---------- captures ---------- */

/* Pushes capture k (or, with no captures and k == 0, the whole match s..e). */
static void pm_push_capture(pm_state *m, int k, const char *s, const char *e) {
    if (k >= m->ncap) {
        if (k != 0) luaL_error(m->L, "invalid capture index %%%d", k + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->cap[k].len;
    if (len == PM_OPEN) luaL_error(m->L, "unfinished capture");
    if (len == PM_POSITION) lua_pushinteger(m->L, (lua_Integer)(m->cap[k].start - m->s0) + 1);
    else lua_pushlstring(m->L, m->cap[k].start, (size_t)len);
}

/* Pushes every capture; with none and s != NULL, the whole match. */
static int pm_push_captures(pm_state *m, const char *s, const char *e) {
    int n = (m->ncap == 0 && s != NULL) ? 1 : m->ncap;
    luaL_checkstack(m->L, n, "too many captures");
    for (int k = 0; k < n; k++) pm_push_capture(m, k, s, e);
    return n;
}

static void pm_reset(pm_state *m) {
    m->ncap = 0;
    m->depth = 0;
}

/* ---------- the library functions ---------- */

/* A 1-based, possibly negative start position as a 0-based offset (may be > ls). */
static size_t start_offset(lua_Integer pos, size_t ls) {
    if (pos > 0) return (size_t)pos - 1;
    if (pos == 0) return 0;
    if (pos < -(lua_Integer)ls) return 0;
    return ls + (size_t)pos;
}

/* Whether the pattern has no magic characters (then find searches it plainly). */
static int pm_is_plain(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++)
        if (strchr("^$*+?.([%-", p[i]) != NULL && p[i] != 0) return 0;
    return 1;
}

/* The first occurrence of p (lp > 0 bytes) in s..s+ls, counted like matching steps. */
static const char *pm_plain_search(pm_state *m, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *last = s + (ls - lp);
    const char *q = s;
    while (q <= last) {
        const char *hit = memchr(q, p[0], (size_t)(last - q) + 1);
        if (hit == NULL) { pm_step(m, 1 + (last - q) / 64); return NULL; }
        pm_step(m, 1 + (hit - q) / 64 + (ptrdiff_t)(lp / 16));
        if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
        q = hit + 1;
    }
    return NULL;
}

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    if (init > ls) { lua_pushnil(L); return 1; }
    pm_state m;
    pm_init(&m, L, find ? "find" : "match", s, ls, p, lp);
    pm_step(&m, (int64_t)(lp / 16));          /* the pattern is read at least once */
    if (find && (lua_toboolean(L, 4) || pm_is_plain(p, lp))) {
        const char *hit = pm_plain_search(&m, s + init, ls - init, p, lp);
        pm_flush(&m);
        if (hit == NULL) { lua_pushnil(L); return 1; }
        lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
        lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
        return 2;
    }
    int anchored = lp > 0 && *p == '^';
    if (anchored) { p++; lp--; m.p_end = p + lp; }
    const char *start = s + init;
    do {
        pm_reset(&m);
        const char *e = pm_match(&m, start, p);
        if (e != NULL) {
            pm_flush(&m);
            if (find) {
                lua_pushinteger(L, (lua_Integer)(start - s) + 1);
                lua_pushinteger(L, (lua_Integer)(e - s));
                return pm_push_captures(&m, NULL, NULL) + 2;
            }
            return pm_push_captures(&m, start, e);
        }
    } while (start++ < m.s_end && !anchored);
    pm_flush(&m);
    lua_pushnil(L);
    return 1;
}

static int quarry_str_find(lua_State *L) { return find_or_match(L, 1); }
static int quarry_str_match(lua_State *L) { return find_or_match(L, 0); }

/* gmatch's iterator. Upvalues: subject, pattern, and a userdata holding the next
   start offset and the end of the last match (-1 before the first). A '^' at the start
   of the pattern is an ordinary character here, as in Lua 5.4's gmatch. */
typedef struct gm_position { size_t next; ptrdiff_t last; } gm_position;

static int gmatch_step(lua_State *L) {
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    gm_position *at = lua_touserdata(L, lua_upvalueindex(3));
    pm_state m;
    pm_init(&m, L, "gmatch", s, ls, p, lp);
    for (size_t i = at->next; i <= ls; i++) {
        pm_reset(&m);
        const char *e = pm_match(&m, s + i, p);
        if (e != NULL && (e - s) != at->last) {
            pm_flush(&m);
            at->next = (size_t)(e - s);
            at->last = e - s;
            return pm_push_captures(&m, s + i, e);
        }
    }
    pm_flush(&m);
    return 0;
}

static int quarry_str_gmatch(lua_State *L) {
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    if (init > ls) init = ls + 1;
    lua_settop(L, 2);
    gm_position *at = lua_newuserdatauv(L, sizeof *at, 0);
    at->next = init;
    at->last = -1;
    lua_pushcclosure(L, gmatch_step, 3);
    return 1;
}

/* Appends the string replacement (argument 3) for the match s..e: "%0" is the whole
   match, "%1".."%9" captures, "%%" a percent sign. */
static void gsub_add_string(pm_state *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t l;
    const char *r = lua_tolstring(L, 3, &l);
    const char *end = r + l;
    while (r < end) {
        const char *pct = memchr(r, '%', (size_t)(end - r));
        if (pct == NULL) { luaL_addlstring(b, r, (size_t)(end - r)); break; }
        luaL_addlstring(b, r, (size_t)(pct - r));
        char d = pct + 1 < end ? pct[1] : 0;
        if (d == '%') {
            luaL_addchar(b, '%');
        } else if (d == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (d >= '1' && d <= '9') {
            pm_push_capture(m, d - '1', s, e);     /* above the buffer's box ... */
            luaL_addvalue(b);                      /* ... and taken from the top */
        } else {
            luaL_error(L, "invalid use of '%%' in replacement string");
        }
        r = pct + 2;
    }
    pm_step(m, 1 + (ptrdiff_t)(l / 16));
}

/* Appends the replacement for the match s..e; returns whether it replaced the text. */
static int gsub_add(pm_state *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = pm_push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        pm_push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        gsub_add_string(m, b, s, e);
        return 1;
    }
    /* the result is on top, right above the buffer's box */
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int quarry_str_gsub(lua_State *L) {
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING ||
                        kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                     "string/function/table");
    lua_settop(L, 3);                     /* the buffer's box goes at 4 */
    const char *s = src;
    int anchored = lp > 0 && *p == '^';
    if (anchored) { p++; lp--; }
    pm_state m;
    pm_init(&m, L, "gsub", src, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *last = NULL;
    lua_Integer n = 0;
    while (n < max_n) {
        pm_reset(&m);
        const char *e = pm_match(&m, s, p);
        if (e != NULL && e != last) {
            n++;
            gsub_add(&m, &b, s, e, kind);
            s = last = e;
        } else if (s < m.s_end) {
            luaL_addchar(&b, *s++);
            pm_step(&m, 1);
        } else {
            break;
        }
        if (anchored) break;
    }
    luaL_addlstring(&b, s, (size_t)(m.s_end - s));
    pm_flush(&m);
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* Installs our find, match, gmatch and gsub into the table at idx. */
void quarry_install_patterns(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, quarry_str_find);
    lua_setfield(L, idx, "find");
    lua_pushcfunction(L, quarry_str_match);
    lua_setfield(L, idx, "match");
    lua_pushcfunction(L, quarry_str_gmatch);
    lua_setfield(L, idx, "gmatch");
    lua_pushcfunction(L, quarry_str_gsub);
    lua_setfield(L, idx, "gsub");
}

lua_State *quarry_pattern_test_state(void) {
    lua_State *L = luaL_newstate();
    if (L == NULL) return NULL;
    *(quarry_sandbox **)lua_getextraspace(L) = NULL;   /* no sandbox: nothing charged */
    luaL_openlibs(L);
    lua_newtable(L);
    quarry_install_patterns(L, -1);
    lua_setglobal(L, "quarry_patterns");
    return L;
}
