// run.c - protected calls for the REPL, scripts and -e, and how errors read.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "session.h"

static repl_session *cur;   // the session whose call is running (for the handler)

double repl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Where the first Lua frame is ("net.lua:12"), so an error raised inside a C
// function called from a script still says which line of the file it was.
static int script_where(lua_State *L, luaL_Buffer *b)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        // nnlab's own Lua (nn, optim, data) is library code: name the learner's line instead
        if (ar.currentline > 0 && strncmp(ar.source, "@repl/lua/", 10) != 0) {
            if (ar.source[0] != '@') return 0;   // typed code: the line is obvious
            luaL_addstring(b, "\n  at ");
            luaL_addstring(b, ar.short_src);
            lua_pushfstring(L, ":%d", ar.currentline);
            luaL_addvalue(b);
            return 1;
        }
    }
    return 0;
}

static int has_position(const char *msg)
{
    const char *c = strstr(msg, ":");
    if (!c || !isdigit((unsigned char)c[1])) return 0;
    for (c++; isdigit((unsigned char)*c); c++) {}
    return c[0] == ':' && c[1] == ' ';
}

// "repl/lua/nn.lua:63: msg" -> "msg": a position inside nnlab's own Lua says nothing
// to the learner; script_where then names their line instead.
static const char *strip_internal(const char *msg)
{
    if (strncmp(msg, "repl/lua/", 9) != 0) return msg;
    const char *c = strchr(msg, ':');
    if (!c || !isdigit((unsigned char)c[1])) return msg;
    for (c++; isdigit((unsigned char)*c); c++) {}
    return (c[0] == ':' && c[1] == ' ') ? c + 2 : msg;
}

int repl_is_dash_stop(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    int is = lua_getfield(L, idx, "dash_stop") == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 1);
    return is;
}

const char *repl_current_chunk;   // the chunk repl_eval runs: hints read the learner's line

// hints.explain(msg, chunk) (repl/lua/hints.lua): a raw Lua error ("attempt to call a nil
// value (field 'randm')", a.sum(2)) rewritten as what to type instead; msg when it has none.
// Runs while the stack is as the error left it, and never raises itself.
static const char *explain(lua_State *L, const char *msg)
{
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 8)) return msg;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "hints") != LUA_TTABLE || lua_getfield(L, -1, "explain") != LUA_TFUNCTION) {
        lua_settop(L, top);
        return msg;
    }
    lua_pushstring(L, msg);
    if (repl_current_chunk) lua_pushstring(L, repl_current_chunk);
    else lua_pushnil(L);
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
        lua_replace(L, top + 1);           // stays on the stack: the handler's result is built from it
        lua_settop(L, top + 1);
        return lua_tostring(L, -1);
    }
    lua_settop(L, top);
    return msg;
}

static int message_handler(lua_State *L)
{
    if (repl_is_dash_stop(L, 1)) return 1;      // stays itself: the caller tells it apart
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (cur && cur->trace) {
        luaL_traceback(L, L, msg, 1);
        return 1;
    }
    msg = explain(L, msg);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    msg = strip_internal(msg);
    luaL_addstring(&b, msg);
    if (!has_position(msg)) script_where(L, &b);
    luaL_pushresult(&b);
    return 1;
}

// Typed chunks are named "=stdin" / "=(command line)"; their "stdin:1: "
// prefix says nothing to the learner, so it goes unless :trace is on.
static const char *strip_position(const char *msg)
{
    static const char *names[] = {"stdin:", "(command line):", NULL};
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(msg, names[i], n) != 0) continue;
        const char *p = msg + n;
        if (!isdigit((unsigned char)*p)) continue;
        while (isdigit((unsigned char)*p)) p++;
        if (p[0] == ':' && p[1] == ' ') return p + 2;
    }
    return msg;
}

// Calls dash.NAME() when the dashboard is open; errors are ignored.
static void dash_call_if_open(lua_State *L, const char *name, int without_is_open)
{
    int top = lua_gettop(L);
    if (lua_getglobal(L, "dash") == LUA_TTABLE) {
        int open = without_is_open;
        if (lua_getfield(L, top + 1, "is_open") == LUA_TFUNCTION)
            open = lua_pcall(L, 0, 1, 0) == LUA_OK && lua_toboolean(L, -1);
        if (open && lua_getfield(L, top + 1, name) == LUA_TFUNCTION)
            lua_pcall(L, 0, 0, 0);
    }
    lua_settop(L, top);
}

// without is_open, close() is called as is: better closed twice than left open
void repl_close_dash(lua_State *L)
{
    // the terminal must come back now: nobody is left to press q
    int top = lua_gettop(L);
    if (lua_getglobal(L, "dash") == LUA_TTABLE && lua_getfield(L, -1, "close") == LUA_TFUNCTION) {
        lua_createtable(L, 0, 1);
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "wait");
        lua_pcall(L, 1, 0, 0);
    }
    lua_settop(L, top);
}

void repl_suspend_dash(lua_State *L) { dash_call_if_open(L, "suspend", 0); }

void repl_report_error(repl_session *s)
{
    lua_State *L = s->L;
    if (repl_is_dash_stop(L, -1)) {
        fflush(stdout);
        fputs("nnlab: training stopped from the dashboard (q, y)\n", stderr);
        fflush(stderr);
        lua_pop(L, 1);
        return;
    }
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(error object is not a string)";
    if (!s->trace) msg = strip_position(msg);
    if (s->keep_dash && repl_dash_is_watching()) {
        // --dash: the error shows in the dashboard's log now and goes to stderr
        // after the dashboard closes (repl_flush_error), after what was printed
        repl_dash_note_error(msg);
        free(s->pending_error);
        s->pending_error = strdup(msg);
        lua_pop(L, 1);
        return;
    }
    fflush(stdout);
    if (s->interactive && strcmp(msg, "interrupted") == 0)
        fputc('\n', stderr);   // after the terminal's ^C
    fprintf(stderr, "error: %s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
}

void repl_flush_error(repl_session *s)
{
    if (!s->pending_error) return;
    fflush(stdout);
    fprintf(stderr, "error: %s\n", s->pending_error);
    fflush(stderr);
    free(s->pending_error);
    s->pending_error = NULL;
}

int repl_call(repl_session *s, int nargs, int nresults)
{
    lua_State *L = s->L;
    int base = lua_gettop(L) - nargs;        // the function's index
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    repl_session *prev = cur;
    cur = s;
    repl_interrupt_arm(L);
    int status = lua_pcall(L, nargs, nresults, base);
    int interrupted = repl_interrupt_disarm();
    cur = prev;
    lua_remove(L, base);
    s->stopped = 0;
    if (status != LUA_OK) {
        int stop = repl_is_dash_stop(L, -1);
        // the message must land on the normal screen; with --dash it goes to the log
        // first (the run stays up), except after Ctrl-C: the user wants out now
        if (!s->keep_dash || interrupted) repl_close_dash(L);
        repl_report_error(s);
        s->stopped = stop;
        if (!stop) s->failed = 1;
        if (interrupted && !s->interactive) s->quit = 1;   // Ctrl-C ends piped input
    }
    return status;
}
