// session.h - the interactive side of repl/: the prompt loop, running chunks,
// colon commands, completion, history, Ctrl-C, help and tutorials.
// Private to repl/ (the bindings only need repl.h).
#ifndef NNLAB_SESSION_H
#define NNLAB_SESSION_H

#include <stdio.h>
#include "repl.h"

typedef struct repl_session {
    lua_State *L;
    int interactive;   // reading a terminal: prompts, history, completion
    int trace;         // :trace on - keep chunk positions, print tracebacks
    int time;          // :time on - print elapsed ms after each command
    int shapes;        // :shapes on
    int failed;        // some chunk failed (exit status of piped input)
    int quit;          // :quit was typed
    int keep_dash;     // --dash: an error goes to the open dashboard's log first
    int stopped;       // the last call ended with q,y on the dashboard (not an error)
    char *pending_error;   // --dash: reported after the dashboard closes
    char **log;        // chunks that ran without error, for :save
    int nlog, caplog;
} repl_session;

// ---- run.c: protected calls and error reports ----
// Calls the function below nargs arguments on the stack with Ctrl-C armed.
// On error closes the dashboard if open, prints "error: msg" on stderr and
// returns the Lua status; on success leaves nresults values (LUA_MULTRET ok).
int repl_call(repl_session *s, int nargs, int nresults);
// Prints the error message on top of the stack (and pops it) the REPL way.
void repl_report_error(repl_session *s);
// Prints an error held back while the --dash dashboard was open.
void repl_flush_error(repl_session *s);
// Calls dash.close() when the dashboard is open (errors ignored).
void repl_close_dash(lua_State *L);
// Whether the value at idx is dash.STOP (training stopped with q,y: not an error).
int repl_is_dash_stop(lua_State *L, int idx);
// Hands the terminal back from an open dashboard (dash.suspend) for the prompt.
void repl_suspend_dash(lua_State *L);
double repl_now_ms(void);

// ---- repl_loop.c ----
// One complete chunk typed at the prompt (or -e): tries "return CODE" first and
// prints the values unless the code ends with ';'. Returns 0 ok, 1 error.
int repl_eval(repl_session *s, const char *code, const char *chunkname);
// The chunk repl_eval is running (NULL otherwise): hints.explain reads the learner's line.
extern const char *repl_current_chunk;
// A syntax error on the stack from another language's habit (`a @ b`, `x:sum` uncalled)
// rewritten to say what to write; code is the chunk, or NULL to read path.
void repl_explain_syntax_error(lua_State *L, const char *code, const char *path);
// Prompt (terminal) or chunk stream (piped stdin) until EOF or :quit; returns
// the exit status.
int repl_loop(repl_session *s);
void repl_banner(FILE *f);

// ---- show.c: printing values ----
// Prints the n values starting at stack index first, tab-separated, one line.
void repl_show_values(lua_State *L, int first, int n);

// ---- commands.c ----
int repl_command(repl_session *s, const char *line);    // line starts with ':'
void repl_log_chunk(repl_session *s, const char *code);
void repl_session_free(repl_session *s);
// Makes NAME (cpu, cuda, meta) the default device; -1 with a reason in err.
int repl_use_device(const char *name, char *err, size_t errn);

// ---- shapes.c: :shapes on|off (op trace, modules through nn._hook) ----
void repl_shapes(lua_State *L, int on);

// ---- complete.c / history.c / interrupt.c ----
void repl_complete_init(lua_State *L);
void repl_history_open(void);
void repl_history_add(const char *line);
void repl_history_close(void);
// Ctrl-C: while running, a hook raises "interrupted"; at the prompt it only
// sets a flag that repl_interrupt_take() returns and clears.
void repl_interrupt_init(void);
void repl_interrupt_arm(lua_State *L);
int repl_interrupt_disarm(void);   // 1 if Ctrl-C was pressed meanwhile
int repl_interrupt_take(void);

// ---- help.c / help_text.c ----
typedef struct repl_help_entry {
    const char *name;         // "tensor.randn", "x:matmul" (a method), "nn.Linear"
    const char *signature;
    const char *description;
    const char *example;
} repl_help_entry;
extern const repl_help_entry repl_help_entries[];   // ends with {NULL}
extern const char repl_help_overview[];             // what help() prints
int repl_help_name(lua_State *L, const char *name);    // ?name at the prompt

// ---- tutorials.c ----
// Directory of the lessons next to the executable; 0 ok, -1 none found.
int repl_tutorials_dir(char *buf, size_t n);
// NAME (exact, a unique substring, or a number) or a lesson file (it has a '/' or
// ends in .lua) -> path; 0 ok, -1 (message in err).
int repl_tutorial_path(const char *name, char *buf, size_t n, char *err, size_t errn);
// Lists the lessons in curriculum order with their descriptions, finished ones marked.
void repl_tutorials_list(FILE *f);

#endif
