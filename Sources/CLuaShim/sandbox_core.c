/* The sandbox core: capped allocator, shared instruction budget, deadline, sticky trips. */
#include "sandbox_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char quarry_suspend_marker = 's';
const char quarry_error_marker = 'e';
const char quarry_readonly_key = 'r';

/* Instructions between count-hook events. */
#define QUARRY_HOOK_COUNT 1000
/* Call-hook events between clock reads. */
#define QUARRY_CLOCK_EVERY 128

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The allocator: every byte the state holds is counted; growth past the cap fails,
   which Lua reports as "not enough memory". Frees always succeed. */
static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    quarry_sandbox *sb = ud;
    if (ptr == NULL) osize = 0;
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= osize;
        return NULL;
    }
    if (nsize > osize && sb->mem_used - osize + nsize > sb->limits.memory_bytes) return NULL;
    void *p = realloc(ptr, nsize);
    if (p == NULL) return NULL;
    sb->mem_used = sb->mem_used - osize + nsize;
    if (sb->mem_used > sb->mem_peak) sb->mem_peak = sb->mem_used;
    return p;
}

/* Internal warnings (e.g. from the collector) go nowhere: scripts have their own `warn`. */
static void silent_warn(void *ud, const char *msg, int tocont) { (void)ud; (void)msg; (void)tocont; }

void quarry_trip_now(lua_State *L, int kind, const char *fmt, ...) {
    quarry_sandbox *sb = quarry_sb(L);
    if (sb->trip == QUARRY_TRIP_NONE) {
        sb->trip = kind;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sb->trip_message, sizeof sb->trip_message, fmt, ap);
        va_end(ap);
    }
    lua_pushstring(L, sb->trip_message);
    lua_error(L);
}

/* Raises the run's trip again if there is one (the limit is sticky). */
int quarry_raise_if_tripped(lua_State *L) {
    quarry_sandbox *sb = quarry_sb(L);
    if (sb->trip != QUARRY_TRIP_NONE) {
        lua_pushstring(L, sb->trip_message);
        return lua_error(L);
    }
    return 0;
}

/* After a protected call: a memory failure becomes a sticky trip, any trip is re-raised. */
void quarry_note_status(lua_State *L, int status) {
    quarry_sandbox *sb = quarry_sb(L);
    if (status == LUA_ERRMEM && sb->trip == QUARRY_TRIP_NONE) {
        sb->trip = QUARRY_TRIP_MEMORY;
        snprintf(sb->trip_message, sizeof sb->trip_message,
                 "sandbox limit: memory cap of %zu bytes reached (not enough memory)",
                 sb->limits.memory_bytes);
    }
    quarry_raise_if_tripped(L);
}

static void check_budget(lua_State *L, quarry_sandbox *sb, int read_clock) {
    quarry_raise_if_tripped(L);
    if (__atomic_load_n(&sb->interrupt_requested, __ATOMIC_RELAXED))
        quarry_trip_now(L, QUARRY_TRIP_INTERRUPTED, "interrupted");
    if (sb->used > sb->limits.instructions)
        quarry_trip_now(L, QUARRY_TRIP_INSTRUCTIONS,
                        "sandbox limit: instruction budget of %lld exhausted",
                        (long long)sb->limits.instructions);
    if (read_clock && sb->deadline > 0 && monotonic_seconds() > sb->deadline)
        quarry_trip_now(L, QUARRY_TRIP_DEADLINE,
                        "sandbox limit: wall-clock deadline of %.3g s passed", sb->limits.seconds);
}

/* Charges the shared budget (e.g. for creating a coroutine, whose own count starts afresh). */
void quarry_charge(lua_State *L, int64_t units) {
    quarry_sandbox *sb = quarry_sb(L);
    sb->used += units;
    check_budget(L, sb, 1);
}

/* Charges work done inside one C call (pattern steps, compared bytes, moved elements).
   The budget, the trip and the interrupt flag are checked on every call (cheap), the
   clock every QUARRY_STEPS_PER_CLOCK units. A state without a sandbox (the pattern
   differential test's plain state) is not charged. */
#define QUARRY_STEPS_PER_CLOCK 20000
void quarry_charge_steps(lua_State *L, int64_t units) {
    quarry_sandbox *sb = quarry_sb(L);
    if (sb == NULL) return;
    sb->used += units;
    sb->steps_since_clock += units;
    if (sb->steps_since_clock >= QUARRY_STEPS_PER_CLOCK) {
        sb->steps_since_clock = 0;
        check_budget(L, sb, 1);
    } else if (sb->used > sb->limits.instructions || sb->trip != QUARRY_TRIP_NONE ||
               __atomic_load_n(&sb->interrupt_requested, __ATOMIC_RELAXED)) {
        check_budget(L, sb, 0);
    }
}

/* Count events charge the instructions run; call events charge one unit each and read the
   clock now and then. The budget lives in the sandbox, so every coroutine shares it. */
static void budget_hook(lua_State *L, lua_Debug *ar) {
    quarry_sandbox *sb = quarry_sb(L);
    if (ar->event == LUA_HOOKCOUNT) {
        sb->used += sb->hook_count;
        check_budget(L, sb, 1);
        return;
    }
    sb->used += 1;
    if (++sb->calls_since_clock >= QUARRY_CLOCK_EVERY) {
        sb->calls_since_clock = 0;
        check_budget(L, sb, 1);
    } else if (sb->used > sb->limits.instructions || sb->trip != QUARRY_TRIP_NONE ||
               __atomic_load_n(&sb->interrupt_requested, __ATOMIC_RELAXED)) {
        check_budget(L, sb, 0);
    }
}

void quarry_install_hooks(quarry_sandbox *sb, lua_State *L) {
    if (sb->hooks_enabled)
        lua_sethook(L, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, sb->hook_count);
    else
        lua_sethook(L, NULL, 0, 0);
}

void quarry_sandbox_set_hooks(quarry_sandbox *sb, int enabled) {
    sb->hooks_enabled = enabled;
    quarry_install_hooks(sb, sb->L);
}

static int open_protected(lua_State *L) {
    return quarry_open_sandbox_libs(L);
}

quarry_sandbox *quarry_sandbox_new(const quarry_limits *limits, quarry_output_fn output,
                                   quarry_host_fn host, void *ctx, const char **error) {
    quarry_sandbox *sb = calloc(1, sizeof *sb);
    if (sb == NULL) { if (error) *error = "out of memory creating the sandbox"; return NULL; }
    sb->limits = *limits;
    sb->output = output;
    sb->host = host;
    sb->ctx = ctx;
    sb->hook_count = QUARRY_HOOK_COUNT;
    sb->hooks_enabled = 1;
    lua_State *L = lua_newstate(capped_alloc, sb);
    if (L == NULL) {
        free(sb);
        if (error) *error = "the memory cap is too small to create a Lua state";
        return NULL;
    }
    sb->L = L;
    *(quarry_sandbox **)lua_getextraspace(L) = sb;
    lua_setwarnf(L, silent_warn, NULL);
    lua_pushcfunction(L, open_protected);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        if (error) *error = "the memory cap is too small to open the sandbox libraries";
        lua_close(L);
        free(sb->reply);
        free(sb);
        return NULL;
    }
    quarry_install_hooks(sb, L);
    return sb;
}

void quarry_sandbox_free(quarry_sandbox *sb) {
    if (sb == NULL) return;
    lua_close(sb->L);
    free(sb->reply);
    free(sb);
}

lua_State *quarry_sandbox_state(quarry_sandbox *sb) { return sb->L; }

void quarry_sandbox_begin(quarry_sandbox *sb, const quarry_limits *limits) {
    sb->limits = *limits;
    if (sb->limits.memory_bytes < sb->mem_used) sb->limits.memory_bytes = sb->mem_used;
    sb->mem_peak = sb->mem_used;
    sb->used = 0;
    sb->calls_since_clock = 0;
    sb->deadline = limits->seconds > 0 ? monotonic_seconds() + limits->seconds : 0;
    sb->output_used = 0;
    sb->host_calls = 0;
    sb->close_depth = 0;
    sb->trip = QUARRY_TRIP_NONE;
    sb->trip_message[0] = 0;
    __atomic_store_n(&sb->interrupt_requested, 0, __ATOMIC_RELAXED);
}

void quarry_sandbox_end(quarry_sandbox *sb) {
    /* A run that hit a limit may leave garbage up to the cap: reclaim it now.
       No script finalizer can run (setmetatable refuses __gc). */
    lua_gc(sb->L, LUA_GCCOLLECT);
}

void quarry_sandbox_interrupt(quarry_sandbox *sb) {
    __atomic_store_n(&sb->interrupt_requested, 1, __ATOMIC_RELAXED);
}

int quarry_sandbox_trip(quarry_sandbox *sb) { return sb->trip; }
const char *quarry_sandbox_trip_message(quarry_sandbox *sb) {
    return sb->trip == QUARRY_TRIP_NONE ? NULL : sb->trip_message;
}
size_t quarry_sandbox_memory_used(quarry_sandbox *sb) { return sb->mem_used; }
size_t quarry_sandbox_memory_peak(quarry_sandbox *sb) { return sb->mem_peak; }
int64_t quarry_sandbox_instructions_used(quarry_sandbox *sb) { return sb->used; }
int64_t quarry_sandbox_host_calls_used(quarry_sandbox *sb) { return sb->host_calls; }
