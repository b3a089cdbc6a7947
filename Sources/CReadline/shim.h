#ifndef QUARRY_CREADLINE_SHIM_H
#define QUARRY_CREADLINE_SHIM_H
/* GNU readline and history. Used only by the `quarry` executable (GPL-3.0);
   the embeddable Quarry library never links it.

   Swift 6 treats readline's mutable C globals as shared state, so the REPL reads and
   sets them through these small functions; all of them are called only on the REPL's
   line-editor thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include <readline/history.h>

/* The signature of rl_attempted_completion_function. */
typedef char **quarry_rl_completer(const char *text, int start, int end);

/* One-time set-up: our own SIGINT handling (no readline signal handlers), the
   application name for ~/.inputrc conditionals, word breaks that keep `a.b:c` whole,
   and the completion hook. */
static inline void quarry_rl_configure(quarry_rl_completer *completer) {
    /* Quotes, operators and brackets end a word; `.` and `:` do not, so `bedrock.con`
       and `client:inv` complete as one word and `model="` starts a new one. */
    static const char word_breaks[] = " \t\n\"'`<>=;|&{}()[],+-*/%^~#";
    rl_readline_name = "quarry";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 1;
    rl_basic_word_break_characters = word_breaks;
    rl_completer_word_break_characters = (char *)word_breaks;
    rl_attempted_completion_function = completer;
}

/* The whole line being edited and the cursor offset (for completion context). */
static inline const char *quarry_rl_line_buffer(void) { return rl_line_buffer; }
static inline int quarry_rl_point(void) { return rl_point; }

/* Called from a completer: `over` stops readline's filename fallback; `append` is the
   character added after a unique match (0 for none). */
static inline void quarry_rl_completion_options(int over, int append) {
    rl_attempted_completion_over = over;
    rl_completion_append_character = append;
}

/* Ctrl-C at the prompt: forget the half-typed line and show a fresh prompt. */
static inline void quarry_rl_abandon_line(void) {
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_replace_line("", 0);
    rl_point = 0;
    rl_end = 0;
    rl_done = 0;
}

/* The readline version as a string (for the banner and diagnostics). */
static inline const char *quarry_rl_version(void) { return rl_library_version; }

/* The history entry at the 0-based offset from history_base, or NULL. */
static inline const char *quarry_history_line(int offset) {
    HIST_ENTRY *entry = history_get(history_base + offset);
    return entry ? entry->line : NULL;
}

/* How many entries the in-memory history holds. */
static inline int quarry_history_length(void) { return history_length; }

#endif
