#ifndef QUARRY_SANDBOX_INTERNAL_H
#define QUARRY_SANDBOX_INTERNAL_H
/* Shared between the sandbox's C files; not exported to Swift. */
#include "CLuaShim.h"
#include <string.h>

struct quarry_sandbox {
    lua_State *L;
    quarry_limits limits;
    /* allocator */
    size_t mem_used, mem_peak;
    /* budget */
    int64_t used;
    int64_t calls_since_clock;
    int64_t steps_since_clock;  /* units charged by C loops since the clock was read */
    double deadline;            /* monotonic seconds; 0 = none */
    int hook_count;
    int hooks_enabled;
    /* per-run counters */
    size_t output_used;
    int64_t host_calls;
    int close_depth;
    /* sticky trip */
    int trip;
    char trip_message[160];
    int interrupt_requested;    /* atomic */
    /* host */
    quarry_output_fn output;
    quarry_host_fn host;
    void *ctx;
    /* reply of the current host call */
    int reply_kind;
    uint8_t *reply;
    size_t reply_len, reply_cap;
    int64_t reply_request;
    /* null sentinel */
    void *null_block;
};

/** The sandbox of any thread of the state (stored in the extra space, which coroutines copy). */
static inline quarry_sandbox *quarry_sb(lua_State *L) {
    return *(quarry_sandbox **)lua_getextraspace(L);
}

/* userdata blocks created by the sandbox */
#define QUARRY_UD_NULL   0x51554e4cu
#define QUARRY_UD_HANDLE 0x5155484eu
typedef struct quarry_userdata { uint32_t magic; int64_t id; } quarry_userdata;

/* markers on coroutine stacks (lightuserdata; never reachable by scripts) */
extern const char quarry_suspend_marker;
extern const char quarry_error_marker;
/* registry keys */
extern const char quarry_readonly_key;

/* core */
void quarry_trip_now(lua_State *L, int kind, const char *fmt, ...);
int quarry_raise_if_tripped(lua_State *L);
void quarry_note_status(lua_State *L, int status);
void quarry_install_hooks(quarry_sandbox *sb, lua_State *L);
void quarry_charge(lua_State *L, int64_t units);
void quarry_charge_steps(lua_State *L, int64_t units);

/* libraries */
int quarry_open_sandbox_libs(lua_State *L);
void quarry_make_readonly(lua_State *L, int deep);

/* patterns (sandbox_pattern.c) */
void quarry_install_patterns(lua_State *L, int idx);

/* bridge */
int quarry_host_trampoline(lua_State *L);
void quarry_set_awaiting(lua_State *L, int yes);
int quarry_decode_values(lua_State *L, const uint8_t *data, size_t length);
int quarry_drive_coroutine(lua_State *L, lua_State *co, int narg, int base, lua_KFunction k);

#endif
