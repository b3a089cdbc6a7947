#ifndef QUARRY_CLUASHIM_H
#define QUARRY_CLUASHIM_H
/* C helpers around the Lua C API: function-like macros Swift cannot import,
   and the sandbox core (allocator cap, hooks, safe libraries, trampolines) written in C
   so that Lua errors never unwind through Swift frames. Every function declared here
   is safe to call from Swift: none of them raises a Lua error. */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stddef.h>

/** lua_pcall, which is a macro in lua.h. */
int quarry_lua_pcall(lua_State *L, int nargs, int nresults, int msgh);
/** lua_pop, which is a macro in lua.h. */
void quarry_lua_pop(lua_State *L, int n);
/** lua_tolstring without the length out-parameter's macro form. */
const char *quarry_lua_tostring(lua_State *L, int idx, size_t *len);
/** Loads a text chunk; never raises. Returns a Lua status code. */
int quarry_lua_load_text(lua_State *L, const char *source, size_t length, const char *chunkname);

/* ---- The sandbox ---- */

/** Opaque sandbox: one lua_State plus its allocator, budget and host callbacks. */
typedef struct quarry_sandbox quarry_sandbox;

/** Per-run limits (see LuaLimits in Swift for the documented defaults). */
typedef struct quarry_limits {
    size_t memory_bytes;        /* allocator cap */
    int64_t instructions;       /* VM instructions + calls, shared by all coroutines */
    double seconds;             /* wall-clock deadline from quarry_sandbox_begin; <= 0: none */
    size_t output_bytes;        /* print/warn bytes per run */
    int64_t host_calls;         /* calls of host functions per run */
    int64_t range_items;        /* table.* ranges, string.rep iterations */
    double pattern_cost;        /* worst-case step estimate allowed for one pattern call */
    size_t load_source_bytes;   /* source size accepted by load() */
    int close_depth;            /* nesting of coroutine.close / wrap cleanup */
} quarry_limits;

/** Why a run was stopped; sticky until the next quarry_sandbox_begin. */
typedef enum quarry_trip {
    QUARRY_TRIP_NONE = 0,
    QUARRY_TRIP_INSTRUCTIONS = 1,
    QUARRY_TRIP_DEADLINE = 2,
    QUARRY_TRIP_MEMORY = 3,
    QUARRY_TRIP_OUTPUT = 4,
    QUARRY_TRIP_HOST_CALLS = 5,
    QUARRY_TRIP_INTERRUPTED = 6,
} quarry_trip;

/** What a host callback asks the trampoline to do. */
typedef enum quarry_reply_kind {
    QUARRY_REPLY_NONE = 0,      /* no reply: the trampoline raises an internal error */
    QUARRY_REPLY_RETURN = 1,    /* return the encoded value list */
    QUARRY_REPLY_ERROR = 2,     /* raise the single encoded value */
    QUARRY_REPLY_SUSPEND = 3,   /* yield to the scheduler with a request id */
} quarry_reply_kind;

/** Receives printed output. Must not call Lua. */
typedef void (*quarry_output_fn)(void *ctx, const char *bytes, size_t len);
/** Runs host function `function_id` with `nargs` arguments at stack 1...nargs of L.
    Must only read the stack with non-raising functions, must leave the stack as it
    found it, and answers through quarry_sandbox_reply / quarry_sandbox_reply_suspend. */
typedef void (*quarry_host_fn)(void *ctx, lua_State *L, int64_t function_id, int nargs);

/** Creates a state with the safe library subset, or NULL (then *error names why). */
quarry_sandbox *quarry_sandbox_new(const quarry_limits *limits, quarry_output_fn output,
                                   quarry_host_fn host, void *ctx, const char **error);
/** Closes the state and frees the sandbox. */
void quarry_sandbox_free(quarry_sandbox *sb);
/** The main thread of the sandbox's state. */
lua_State *quarry_sandbox_state(quarry_sandbox *sb);
/** Starts a run: sets the limits, resets budget, deadline, output, host calls and the trip. */
void quarry_sandbox_begin(quarry_sandbox *sb, const quarry_limits *limits);
/** Ends a run: collects garbage if a limit tripped, so the next run starts healthy. */
void quarry_sandbox_end(quarry_sandbox *sb);
/** Asks the running script to stop at the next hook check. Safe from any thread. */
void quarry_sandbox_interrupt(quarry_sandbox *sb);
/** The trip of this run (QUARRY_TRIP_NONE if none). */
int quarry_sandbox_trip(quarry_sandbox *sb);
/** The message of this run's trip, or NULL. Static storage owned by the sandbox. */
const char *quarry_sandbox_trip_message(quarry_sandbox *sb);
/** Bytes the state holds now / at most during this run. */
size_t quarry_sandbox_memory_used(quarry_sandbox *sb);
size_t quarry_sandbox_memory_peak(quarry_sandbox *sb);
/** Budget units used in this run. */
int64_t quarry_sandbox_instructions_used(quarry_sandbox *sb);
/** Host calls made in this run. */
int64_t quarry_sandbox_host_calls_used(quarry_sandbox *sb);
/** Installs (1) or removes (0) the budget hooks; for measuring their overhead only. */
void quarry_sandbox_set_hooks(quarry_sandbox *sb, int enabled);

/** From a host callback: answer with an encoded value list (RETURN) or one value (ERROR). */
void quarry_sandbox_reply(quarry_sandbox *sb, int kind, const uint8_t *data, size_t length);
/** From a host callback: suspend the calling coroutine; the scheduler sees `request_id`. */
void quarry_sandbox_reply_suspend(quarry_sandbox *sb, int64_t request_id);

/* ---- Protected operations (each returns a Lua status; on error the message is on top) ---- */

/** Pushes the encoded value list; on success pushes the values and *count is their number. */
int quarry_push_values(lua_State *L, const uint8_t *data, size_t length, int *count);
/** Sets global `name` to the encoded value; read_only makes tables (deeply) read-only. */
int quarry_set_global(lua_State *L, const char *name, const uint8_t *data, size_t length, int read_only);
/** Defines the metatable of handle type `type_name` whose methods are the encoded map. */
int quarry_define_handle_type(lua_State *L, const char *type_name, const uint8_t *methods, size_t length);
/** Runs the function on top of the stack (with no arguments) and stores its result as
    the named metatable (made locked), usable by encoded tables with a metatable tag. */
int quarry_define_metatable(lua_State *L, const char *name);
/** Pushes a readable description (string) of the value at idx (running its __tostring
    under the hooks unless a limit tripped) and returns 1; returns 0 with nothing pushed. */
int quarry_describe(lua_State *L, int idx);
/** Stores the value at idx in the registry; returns the reference or LUA_NOREF. */
int quarry_ref(lua_State *L, int idx);

/* io.write for hosts that offer it: writes its string/number arguments, with no
   separators, through the sandbox's output (counted against the output limit). */
int quarry_io_write(lua_State *L);

/* Makes global table `name` read-only (a proxy; with deep, nested tables too).
   Returns a Lua status; on error the message is on the stack. */
int quarry_freeze_global(lua_State *L, const char *name, int deep);
/* A Lua C function for host-held code only: removes the metatable of table argument 1,
   a locked one too, unless it is a read-only proxy (which keeps its lock). */
int quarry_clear_metatable(lua_State *L);

/* If the value at idx is a read-only proxy, pushes the table it reads from and returns
   1 (so the host can convert what scripts see); else pushes nothing and returns 0. */
int quarry_push_readonly_target(lua_State *L, int idx);
/** Releases a registry reference. */
void quarry_unref(lua_State *L, int ref);
/** Pushes registry[ref] (does not raise; needs one free stack slot). */
void quarry_push_ref(lua_State *L, int ref);
/** Creates a coroutine running the function at the top of L (popped) and returns its
    registry reference (or LUA_NOREF); *thread receives the new thread. */
int quarry_new_coroutine(lua_State *L, lua_State **thread);
/** Resumes `co` with the top nargs values of co's stack. Return is lua_resume's status;
    *nresults the number of values on co. *suspended is 1 if the coroutine (or one of
    its own coroutines) suspended in a host call; then *request_id is the request. */
int quarry_resume(quarry_sandbox *sb, lua_State *co, int nargs, int *nresults,
                  int *suspended, int64_t *request_id);
/** Pushes the marker that makes a resumed host call raise the value pushed after it. */
void quarry_push_error_marker(lua_State *L);
/** Pushes an array of the string keys reachable at the dotted path ("" = globals);
    a trailing ':' ("c:") keeps only the keys whose value is a function (methods). */
int quarry_list_keys(lua_State *L, const char *path);
/** 1 if the value at idx is the sandbox's null sentinel. */
int quarry_is_null(lua_State *L, int idx);
/** If the value at idx is a host handle, returns 1 and its id. */
int quarry_handle_id(lua_State *L, int idx, int64_t *id);

/** For the pattern differential test only: a plain state with the full standard
    library and no sandbox (nothing is charged), whose global table `quarry_patterns`
    holds the sandbox's own find/match/gmatch/gsub. Close it with lua_close. */
lua_State *quarry_pattern_test_state(void);

#endif
